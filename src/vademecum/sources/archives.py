"""Opening source files: plain, gzip or zip, with limits against truncated and bomb-sized archives.

Readers never open files; the ingest service opens each file here and hands the readers a
binary stream of decompressed bytes. Decompression errors surface as :class:`ReaderError`
naming the file, whichever reader happens to be reading when they occur.
"""

from __future__ import annotations

import gzip
import io
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vademecum.errors import ReaderError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
SNIFF_BYTES = 8192
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


@dataclass(frozen=True, slots=True)
class SourceStream:
    """One stream of decompressed bytes: a plain file, a gzip file or one member of a zip."""

    name: str
    handle: BinaryIO
    head: bytes


class LimitedReader(io.RawIOBase):
    """A read-only stream that turns decompression failures into ReaderError and caps the size read."""

    def __init__(self, raw: BinaryIO, source: str, max_bytes: int) -> None:
        self._raw = raw
        self._source = source
        self._max_bytes = max_bytes
        self._read = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the underlying stream, enforcing the size limit."""
        try:
            data = self._raw.read(len(buffer))
        except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile, OSError) as exc:
            raise ReaderError(self._source, f"corrupt or truncated compressed data ({exc})") from exc
        self._read += len(data)
        if self._read > self._max_bytes:
            raise ReaderError(
                self._source,
                f"decompressed size exceeds the limit of {self._max_bytes:,} bytes (archive bomb?)",
            )
        buffer[: len(data)] = data
        return len(data)


def _buffered(raw: BinaryIO, source: str, max_bytes: int) -> tuple[BinaryIO, bytes]:
    stream = io.BufferedReader(LimitedReader(raw, source, max_bytes), buffer_size=1 << 20)
    return stream, stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]


def check_regular_file(path: Path) -> None:
    """Refuse anything but a regular file (ReaderError naming it): reading a named pipe blocks until
    someone writes to it, and a device or socket is not a document."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ReaderError(str(path), f"cannot read file ({exc.strerror})") from exc
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "not a regular file")
        raise ReaderError(str(path), f"{kind}, not a regular file: only files are ingested")


@contextmanager
def open_source(path: Path, max_bytes: int, max_ratio: int) -> Iterator[list[SourceStream]]:
    """Open ``path`` and yield its decompressed streams (one, or one per zip member).

    Raises ReaderError when the file is empty, the archive is corrupt, or a zip member
    declares a size or compression ratio above the limits.
    """
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReaderError(source, f"cannot read file ({exc.strerror})") from exc
    if size == 0:
        raise ReaderError(source, "file is empty")
    with path.open("rb") as raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(GZIP_MAGIC):
            with gzip.GzipFile(fileobj=raw) as gz:
                handle, head = _buffered(gz, source, max_bytes)  # type: ignore[arg-type]
                if not head:
                    raise ReaderError(source, "compressed file holds no data")
                yield [SourceStream(path.name.removesuffix(".gz"), handle, head)]
        elif magic == ZIP_MAGIC:
            yield from _open_zip(raw, source, max_bytes, max_ratio)
        else:
            handle, head = _buffered(raw, source, max_bytes)
            yield [SourceStream(path.name, handle, head)]


def _open_zip(raw: BinaryIO, source: str, max_bytes: int, max_ratio: int) -> Iterator[list[SourceStream]]:
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile as exc:
        raise ReaderError(source, f"not a readable zip archive ({exc})") from exc
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if not members:
            raise ReaderError(source, "zip archive holds no files")
        for info in members:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > max_bytes or ratio > max_ratio:
                raise ReaderError(
                    source,
                    f"member declares {info.file_size:,} bytes (ratio {ratio:.0f}:1), over the limits (archive bomb?)",
                    record=info.filename,
                )
        streams = []
        for info in members:
            member_source = f"{source}!{info.filename}"
            handle, head = _buffered(archive.open(info), member_source, max_bytes)  # type: ignore[arg-type]
            streams.append(SourceStream(info.filename, handle, head))
        yield streams
