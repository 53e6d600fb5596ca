"""Input helpers shared by the readers: turn a path, bytes or file object into bytes and a name."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO

from .errors import SourceFormatError

Source = str | os.PathLike | bytes | bytearray | BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(src: Source, name: str | None = None) -> tuple[bytes, str]:
    """Return the bytes of `src` (a path, bytes, or a binary file object) and a name for error messages."""
    if isinstance(src, bytes | bytearray):
        return bytes(src), name or "<bytes>"
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        try:
            return path.read_bytes(), name or str(path)
        except OSError as exc:
            raise SourceFormatError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    if hasattr(src, "read"):
        data = src.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return data, name or str(getattr(src, "name", "<file object>"))
    raise TypeError(f"expected a path, bytes or a binary file object, got {type(src).__name__}")


def gunzip_if_needed(data: bytes, name: str) -> bytes:
    """Decompress gzip bytes (detected by the magic number); raise a clear error on a truncated stream."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise SourceFormatError(name, f"gzip stream is truncated or corrupt ({exc})") from exc


def sniff_text_kind(data: bytes) -> str:
    """Classify a text body by its first non-blank characters: 'json', 'markup' (HTML/XML) or 'text'."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<"):
        return "markup"
    return "text"


def markup_title(data: bytes) -> str:
    """A short description of an HTML/XML body for an error message (its <title> or first 120 chars)."""
    text = data[:4000].decode("utf-8", "replace")
    lower = text.lower()
    start = lower.find("<title>")
    if start >= 0:
        end = lower.find("</title>", start)
        return text[start + 7 : end if end > 0 else start + 127].strip()
    return " ".join(text.split())[:120]
