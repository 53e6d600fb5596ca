"""A scriptable HTTP server on 127.0.0.1 for fault-injection tests (imported by the tests, not a test).

Each request path (without its query) has a queue of actions; a request takes the next action, and
when the queue is empty the path's standing action (``then=``) answers, else 404. Actions::

    Reply(status, body, headers)          an ordinary answer (Content-Length set)
    Delay(seconds, then)                  wait, then perform `then` (past the client's read timeout)
    Meet(group, then)                     wait until `group.count` requests reached the group (or its
                                          `timeout` passed), then perform `then`: requests that
                                          overlap for certain, however slow the machine
    Reset()                               close the socket with a TCP reset, no answer
    Truncate(reply, send)                 Content-Length of the whole body, `send` bytes, then close
    ResetMidBody(reply, send)             as Truncate, but a TCP reset instead of a clean close
    Chunked(reply, size, cut)             chunked transfer; `cut`: close before the last chunk
    Drip(reply, chunk, interval)          the body `chunk` bytes at a time, `interval` seconds apart
    HeaderDrip(reply, interval)           the status line and headers one byte at a time, `interval`
                                          seconds apart, then the body
    Flood(reply, size, chunk)             `reply`'s status and headers, then `size` zero bytes (its
                                          Content-Length) written `chunk` bytes at a time

``server.seen`` records every request (method, path, query, headers, body, time, and ``sent``: the bytes
of the answer the client let the server write, counted by Drip, HeaderDrip and Flood); ``max_in_flight``
the most requests handled at once; ``settle()`` waits until no request is in flight. ``reset()`` (and
leaving the server) cuts every Delay, Drip and Meet still waiting short and waits until no request is in
flight, so that a handler left waiting by one test (its client timed out) cannot count in the next. The
server binds 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"


@dataclass
class Delay:
    seconds: float
    then: object = field(default_factory=Reply)


class Group:
    """A meeting point for :class:`Meet` actions: releases its requests once `count` have arrived (in
    all, counted from its creation), or each after `timeout` seconds of waiting."""

    def __init__(self, count: int, timeout: float = 30.0) -> None:
        self.count = count
        self.timeout = timeout
        self.arrived = 0
        self._cond = threading.Condition()

    def arrive(self, released: threading.Event) -> bool:
        """Count one arrival and wait for the others; True if all `count` came in time."""
        deadline = time.monotonic() + self.timeout
        with self._cond:
            self.arrived += 1
            self._cond.notify_all()
            while self.arrived < self.count and not released.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return self.arrived >= self.count


@dataclass
class Meet:
    group: Group
    then: object = field(default_factory=Reply)


@dataclass
class Reset:
    pass


@dataclass
class Truncate:
    reply: Reply
    send: int


@dataclass
class ResetMidBody:
    reply: Reply
    send: int


@dataclass
class Chunked:
    reply: Reply
    size: int = 1024
    cut: bool = False


@dataclass
class Drip:
    reply: Reply
    chunk: int = 1
    interval: float = 0.1


@dataclass
class HeaderDrip:
    reply: Reply
    interval: float = 0.1


@dataclass
class Flood:
    reply: Reply
    size: int
    chunk: int = 64 * 1024


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    time: float
    sent: int = 0  # answer bytes written (Drip, HeaderDrip and Flood count; the others do not)


class FaultServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering each path from its script."""

    def __init__(self) -> None:
        self._queues: dict[str, deque] = defaultdict(deque)
        self._standing: dict[str, object] = {}
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._released = threading.Event()  # set by reset(): waiting handlers stop waiting
        handler = type("Handler", (_Handler,), {"fault": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- control --------------------------------------------------------------------------------------

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "") -> str:
        return self.base + path

    def script(self, path: str, *actions: object, then: object | None = None) -> None:
        """Queue `actions` for requests to `path`; `then` answers once the queue is empty."""
        with self._lock:
            self._queues[path].extend(actions)
            if then is not None:
                self._standing[path] = then

    def reset(self) -> None:
        """Forget every script and the request log, after ending the requests still in flight."""
        self._release()
        with self._lock:
            self._queues.clear()
            self._standing.clear()
            self.seen.clear()
            self.max_in_flight = 0

    def _release(self, patience: float = 60.0) -> None:
        """Cut every waiting action short and wait (at most `patience` s) until none is in flight."""
        self._released.set()
        deadline = time.monotonic() + patience
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        self._released = threading.Event()

    def settle(self, patience: float = 60.0) -> bool:
        """Wait (at most `patience` s) until no request is in flight; True if none is."""
        deadline = time.monotonic() + patience
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.in_flight

    def count(self, path: str | None = None) -> int:
        return sum(1 for s in self.seen if path is None or s.path == path)

    def _next(self, path: str) -> object:
        with self._lock:
            queue = self._queues.get(path)
            if queue:
                return queue.popleft()
            return self._standing.get(path, Reply(404, b"unscripted path " + path.encode(),
                                                  content_type="text/plain"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fault: FaultServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        server = self.fault
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, parts.path, parts.query, dict(self.headers.items()), body, time.monotonic())
        self._seen = seen
        with server._lock:
            server.seen.append(seen)
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            self._perform(server._next(parts.path))
        except OSError:  # the client went away (timed out): nothing to do
            self.close_connection = True
        finally:
            with server._lock:
                server.in_flight -= 1

    # -- actions --------------------------------------------------------------------------------------

    def _perform(self, action: object) -> None:
        released = self.fault._released
        if isinstance(action, Delay):
            released.wait(action.seconds)
            self._perform(action.then)
        elif isinstance(action, Meet):
            action.group.arrive(released)
            self._perform(action.then)
        elif isinstance(action, Reply):
            self._head(action, len(action.body))
            self.wfile.write(action.body)
        elif isinstance(action, Reset):
            self._reset()
        elif isinstance(action, Truncate | ResetMidBody):
            self._head(action.reply, len(action.reply.body))
            self.wfile.write(action.reply.body[: action.send])
            self.wfile.flush()
            if isinstance(action, ResetMidBody):
                self._reset()
            else:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_WR)
        elif isinstance(action, Chunked):
            self._head(action.reply, None, chunked=True)
            data = action.reply.body
            for start in range(0, len(data), action.size):
                piece = data[start : start + action.size]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            if action.cut:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_WR)
            else:
                self.wfile.write(b"0\r\n\r\n")
        elif isinstance(action, Drip):
            self._head(action.reply, len(action.reply.body))
            data = action.reply.body
            for start in range(0, len(data), action.chunk):
                self._send_counted(data[start : start + action.chunk])
                released.wait(action.interval)
        elif isinstance(action, HeaderDrip):
            reply = action.reply
            lines = [f"HTTP/1.1 {reply.status} X", f"Content-Type: {reply.content_type}",
                     *(f"{k}: {v}" for k, v in reply.headers.items())]
            if "Content-Length" not in reply.headers:
                lines.append(f"Content-Length: {len(reply.body)}")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.close_connection = True
            for i in range(len(head)):
                self._send_counted(head[i : i + 1])
                released.wait(action.interval)
            self._send_counted(reply.body)
        elif isinstance(action, Flood):
            self._head(action.reply, action.size)
            block = bytes(action.chunk)
            left = action.size
            while left > 0:
                self._send_counted(block[: min(left, action.chunk)])
                left -= min(left, action.chunk)
        else:
            raise TypeError(f"unknown action {action!r}")

    def _send_counted(self, data: bytes) -> None:
        """Write and flush `data`; count it in the request's ``sent`` once the socket took it."""
        self.wfile.write(data)
        self.wfile.flush()
        self._seen.sent += len(data)

    def _head(self, reply: Reply, length: int | None, chunked: bool = False) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "Content-Length" not in reply.headers:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees 'connection reset', not a clean end."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


# -- pointing the real fetchers at the server, and bodies with hand-known values ------------------------

#: Paths of the requests the real fetchers send (see point_sources_at).
COIFPM_PATH = "/eurostat/sdmx/2.1/data/nrg_ti_coifpm/..VOL_THS_BBL.DE"
OIL_PATH = "/eurostat/sdmx/2.1/data/nrg_ti_oil/.O4100_TOT...DE"
OILM_PATH = "/eurostat/sdmx/2.1/data/nrg_ti_oilm/.O4100_TOT...DE"
TOC_PATH = "/eurostat/catalogue/toc/txt"
COMTRADE_PREVIEW_PATH = "/comtrade/public/v1/preview/C/A/HS"
COMTRADE_DATA_PATH = "/comtrade/data/v1/get/C/A/HS"
COMTRADE_GETDA_PATH = "/comtrade/data/v1/getDa/C/A/HS"
GENESIS_TABLEFILE_PATH = "/genesis/data/tablefile"
GENESIS_MODIFIED_PATH = "/genesis/catalogue/modifieddata"

COIFPM_SPEC = {"source": "eurostat", "dataset": "nrg_ti_coifpm", "incremental": False,
               "filters": {"geo": "DE", "indic_nrg": "VOL_THS_BBL"}}
OIL_SPEC = {"source": "eurostat", "dataset": "nrg_ti_oil", "incremental": False,
            "filters": {"siec": "O4100_TOT", "geo": "DE"}}
OILM_SPEC = {"source": "eurostat", "dataset": "nrg_ti_oilm", "incremental": False,
             "filters": {"siec": "O4100_TOT", "geo": "DE"}}


def point_sources_at(base: str, setattr=setattr) -> None:
    """Point Eurostat's and Comtrade's module URLs at `base` (pass ``monkeypatch.setattr`` in tests).
    GENESIS takes ``base_url=base + "/genesis/"`` as a parameter."""
    from oilflows.sources import comtrade, eurostat

    setattr(eurostat, "BASE_URL", base + "/eurostat")
    setattr(eurostat, "TOC_URL", base + TOC_PATH)
    setattr(comtrade, "PREVIEW_URL", base + "/comtrade/public/v1/preview/C/{freq}/HS")
    setattr(comtrade, "DATA_URL", base + "/comtrade/data/v1/get/C/{freq}/HS")
    setattr(comtrade, "AVAILABILITY_URL", base + "/comtrade/{api}/v1/getDa/{type}/{freq}/{cl}")


def coifpm_csv(values: dict[tuple[str, str], float | None], last_update: str = "28/02/24 11:00:00") -> bytes:
    """SDMX-CSV of nrg_ti_coifpm for DE, VOL_THS_BBL: {(crudeoil, "YYYY-MM"): kbbl or None (flag c)}."""
    lines = ["DATAFLOW,LAST UPDATE,freq,crudeoil,indic_nrg,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG"]
    for (crude, period), value in values.items():
        cell, flag = ("", "c") if value is None else (repr(float(value)), "")
        lines.append(f"ESTAT:NRG_TI_COIFPM(1.0),{last_update},M,{crude},VOL_THS_BBL,DE,{period},{cell},{flag}")
    return ("\n".join(lines) + "\n").encode()


def oil_csv(values: dict[tuple[str, str], float], last_update: str = "15/01/24 23:00:00",
            dataset: str = "nrg_ti_oil") -> bytes:
    """SDMX-CSV of nrg_ti_oil (annual, "YYYY") or nrg_ti_oilm ("YYYY-MM") for DE, crude, THS_T:
    {(partner, period): kt}."""
    freq = "A" if dataset == "nrg_ti_oil" else "M"
    lines = ["DATAFLOW,LAST UPDATE,freq,siec,partner,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG"]
    for (partner, period), value in values.items():
        lines.append(f"ESTAT:{dataset.upper()}(1.0),{last_update},{freq},O4100_TOT,{partner},THS_T,DE,"
                     f"{period},{float(value)!r},")
    return ("\n".join(lines) + "\n").encode()


def csv_reply(body: bytes) -> Reply:
    return Reply(200, body, content_type="application/vnd.sdmx.data+csv;version=1.0.0")
