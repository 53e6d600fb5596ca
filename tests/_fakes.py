"""Test doubles shared by several test files: a fake clock for ``oilflows.http`` and a memory probe."""

from __future__ import annotations

import time
import tracemalloc


class FakeClock:
    """The rate limiter's clock (``oilflows._http_wire._clock``) and every sleep the client asks for
    (``_http_wire._sleep``, urllib3's Retry-After and back-off sleeps): a sleep is recorded and advances
    the fake time at once, nothing really waits. A test installs what it needs (see each file's
    ``clock`` fixture)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


class TimeModule:
    """The ``time`` module as urllib3's retry module sees it, with `sleep` replaced."""

    def __init__(self, sleep) -> None:
        self.sleep = sleep

    def __getattr__(self, name: str):
        return getattr(time, name)


def peak_bytes(call) -> tuple[int, BaseException | None]:
    """Peak traced allocation of `call()` and the exception it raised (or None)."""
    tracemalloc.start()
    try:
        call()
        raised = None
    except Exception as exc:  # noqa: BLE001 - returned to the test, which checks its type
        raised = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised
