"""Typed exceptions: every error oilflows raises on bad input names the file, the field and the problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Masks every registered secret in a text; set by :mod:`oilflows.http` (its :func:`~oilflows.http.redact`)
#: when it is imported. FetchError and SourceFormatError pass their URL, source and message through it,
#: so no message, ``repr`` or traceback of theirs can hold a key or token, wherever they are built.
_redactor: Callable[[str], str] | None = None


def _clean(text: Any) -> Any:
    """`text` with every registered secret masked (unchanged if not a non-empty str or no redactor)."""
    if _redactor is None or not isinstance(text, str) or not text:
        return text
    return _redactor(text)


class OilflowsError(Exception):
    """Base class of every error raised by oilflows."""


class SourceFormatError(OilflowsError, ValueError):
    """A source file or response body is not in the expected format.

    Parameters
    ----------
    source : str
        Where the bytes came from (a path, a URL, or ``"<bytes>"``).
    problem : str
        What was expected and what was found.
    field : str, optional
        The column, key or sheet concerned.
    """

    def __init__(self, source: str, problem: str, field: str | None = None):
        source, problem, field = _clean(source), _clean(problem), _clean(field)
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}" + (f" [{field}]" if field else "")
        super().__init__(f"{where}: {problem}")


class UnknownDatasetError(OilflowsError, KeyError):
    """A dataset code oilflows does not know how to read or fetch."""

    def __init__(self, dataset: str, known: list[str] | tuple[str, ...], source: str = ""):
        self.dataset = dataset
        self.known = tuple(known)
        where = f"{source}: " if source else ""
        super().__init__(f"{where}unknown dataset {dataset!r}; known: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class SchemaError(OilflowsError, ValueError):
    """A frame does not follow the canonical schema (missing column, wrong type, duplicate key)."""


class FetchError(OilflowsError, OSError):
    """A download failed: no network, an HTTP error, or an error body from the service.

    The URL and the message are redacted (every registered secret masked) when the error is built.
    ``retry_after`` is the wait the server asked for (``Retry-After``, seconds), or None.
    """

    retry_after: float | None = None

    def __init__(self, url: str, problem: str, status: int | None = None):
        url, problem = _clean(url), _clean(problem)
        self.url = url
        self.status = status
        code = f"HTTP {status} " if status else ""
        super().__init__(f"{code}{url}: {problem}")


class StoreError(OilflowsError):
    """The store could not be read or written; a failed write leaves the store as it was."""


class AnalysisError(OilflowsError, ValueError):
    """The frame cannot answer the question asked (no data in a window, ambiguous sources, ...)."""


class QueryError(OilflowsError, ValueError):
    """A request cannot be built: an unknown filter dimension, a malformed period, ..."""


class StoreQueryError(StoreError, QueryError):
    """A read of the store was asked something it cannot answer: a filter value of the wrong type
    (``reporter=5``), an ``as_of`` that is not a date or carries a time zone, an unknown column, or a
    malformed ``replace=`` scope of a write. Both a :class:`StoreError` and a :class:`QueryError`."""


class NetworkError(FetchError):
    """The service could not be reached at all (no network, DNS failure, refused connection)."""


class AccessDeniedError(FetchError):
    """HTTP 401, or 403 with neither ``Retry-After`` nor a quota message: a missing, wrong or insufficient
    credential. Not retried."""


class RateLimitedError(FetchError):
    """HTTP 429, or a quota 403, still refused after the retries or asking for a wait longer than
    :data:`MAX_RETRY_AFTER`. ``retry_after`` is the wait the server asked for, seconds (or None)."""

    retry_after: float | None = None

    def __init__(self, url: str, problem: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(url, problem, status=status)
        self.retry_after = retry_after


class BodyTooLargeError(FetchError):
    """The body is larger than the limit (``limit``, bytes)."""

    limit: int | None = None

    def __init__(self, url: str, problem: str, status: int | None = None, limit: int | None = None):
        super().__init__(url, problem, status=status)
        self.limit = limit


class TruncatedBodyError(FetchError):
    """The connection ended before the whole body arrived (shorter than Content-Length, or a chunked
    body without its last chunk)."""


class FetchTimeoutError(FetchError):
    """No answer within the read timeout (after the retries), or the body not complete by the deadline."""


class ExecutorError(OilflowsError, ValueError):
    """The executor given to a panel analysis is not one oilflows can use, or it failed (a worker
    process died)."""


class DecompressionLimitError(SourceFormatError):
    """Compressed input (gzip, ZIP, 7z) would decompress past the limit in bytes, or past the size its
    archive declares. ``source`` names the file, ``field`` the member (or ``"gzip"``)."""


class ConfigError(QueryError):
    """A refresh config (a TOML file or a list of dicts) asks for something oilflows cannot do: an unknown
    key (with the closest known one), a malformed period or start after end, a code the source does not
    know (``geo = ["Germany"]``: did you mean DE?). Raised before any network call; one line."""

__all__ = ["AccessDeniedError", "AnalysisError", "BodyTooLargeError", "ConfigError",
           "DecompressionLimitError", "ExecutorError", "FetchError", "FetchTimeoutError",
           "NetworkError", "OilflowsError", "QueryError", "RateLimitedError", "SchemaError",
           "SourceFormatError", "StoreError", "StoreQueryError", "TruncatedBodyError",
           "UnknownDatasetError"]
