"""The registry of source readers, by format name.

Each reader module provides ``READER_NAME``, ``READER_VERSION``, ``sniff(name, head)`` and
``parse(handle, source)``; :data:`READERS` lists them in detection order (the most specific
first), the way an extension would be registered.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO

from vademecum.errors import UnknownFormatError
from vademecum.records import SourceRecord
from vademecum.sources import jats, medline, nci_drug, openfda, pdq, protocol, pubmedqa, pubtator, spl

# JATS comes after the protocol reader: an institution's HTML page may hold an <article> element too.
READERS: dict[str, ModuleType] = {
    module.READER_NAME: module for module in (medline, spl, openfda, pubmedqa, pdq, nci_drug, protocol, pubtator, jats)
}


def detect_format(name: str, head: bytes, source: str) -> str:
    """Name of the reader for a stream called ``name`` starting with ``head``; raises if none fits."""
    for reader_name, module in READERS.items():
        if module.sniff(name, head):
            return reader_name
    raise UnknownFormatError(source, f"unknown format (no reader recognises {name!r}); readers: {', '.join(READERS)}")


def parse(format_name: str, handle: BinaryIO, source: str) -> Iterator[SourceRecord]:
    """Stream the records of ``handle`` with the named reader."""
    return READERS[format_name].parse(handle, source)


def reader_version(format_name: str) -> str:
    """``name/version`` of a reader, stored with what it produced."""
    module = READERS[format_name]
    return f"{module.READER_NAME}/{module.READER_VERSION}"
