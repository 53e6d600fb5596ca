"""Shared pytest fixtures: where the test data lives, and an offline HTTP layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Small matrices, many fits: BLAS threads only contend with each other (measured here on 2 cores: the
# counterfactual simulations took 445 s with OpenBLAS threading and 23 s without). Set before numpy
# is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

#: Small fixtures kept in the repository.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The shared real-data directory (``/work/shared/data``), overridable with ``OILFLOWS_SHARED_DATA``.
SHARED_DATA = Path(
    os.environ.get("OILFLOWS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures``."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data directory; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set OILFLOWS_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def http_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No disk cache, no back-off sleeps, and a fresh :mod:`oilflows.http` session per test."""
    from oilflows import http

    monkeypatch.setenv("OILFLOWS_NO_CACHE", "1")
    monkeypatch.setenv("OILFLOWS_HTTP_BACKOFF", "0")
    http._sessions.clear()
    yield
    http._sessions.clear()


@pytest.fixture
def mocked_responses(http_env: None):
    """A :class:`responses.RequestsMock` that intercepts every request (unmatched ones fail)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def _no_internet(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the network: a connection to anything but the loopback interface fails
    (tests marked ``live`` are exempt). Recorded responses (`responses`) open no socket at all."""
    if request.node.get_closest_marker("live"):
        return
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _checked(sock, address) -> None:  # UDP connect() sends nothing (dask uses it to find its IP)
        if sock.type == socket.SOCK_STREAM and isinstance(address, tuple) and address \
                and not str(address[0]).startswith(_LOOPBACK):
            raise OSError(f"tests must not touch the network (connection to {address[0]!r} refused)")

    def connect(self, address):
        _checked(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _checked(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
