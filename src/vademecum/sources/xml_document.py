"""Reading one XML document safely, shared by the readers of whole-file XML formats (SPL, JATS).

Entities are not resolved, no DTD is loaded and nothing is fetched: a document is data, never a
request. ``huge_tree`` stays off, so a pathological file fails with a :class:`ReaderError` instead of
exhausting memory; real labels and articles are well under its limits.
"""

from __future__ import annotations

import datetime as dt
from typing import BinaryIO

from lxml import etree

from vademecum.errors import ReaderError

_CHUNK = 1 << 16


def read_xml(handle: BinaryIO, source: str) -> etree._Element:
    """The root element of the XML document in ``handle``, read in chunks; raises ReaderError for an
    empty file or malformed XML (with the line)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
    )
    size = 0
    try:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            parser.feed(chunk)
        if not size:
            raise ReaderError(source, "empty file")
        return parser.close()
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise ReaderError(source, f"malformed XML at line {line}: {exc.msg}") from exc


def calendar_date(year: int | None, month: int | None, day: int | None) -> dt.date | None:
    """The date, or None when a part is missing or the parts make no calendar date (31 June)."""
    if year is None or month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
