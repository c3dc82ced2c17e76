"""One stored passage as a citation panel shows it: its text, where it sits, and where its source lives."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from vademecum.answer.article import evidence_key
from vademecum.answer.citations import reference_from, reference_sources
from vademecum.answer.render import Link, reference_links
from vademecum.errors import NotFoundError
from vademecum.evidence.store import documents_by_id, passages_by_id


@dataclass(frozen=True, slots=True)
class PassageDetail:
    """A passage with its document's title, evidence level, date and links out (PubMed, DailyMed, cancer.gov).

    ``highlight`` is the ``(start, end)`` character span of the quoted sentence inside ``text``, or None.
    """

    passage_id: int
    document_id: str
    kind: str
    title: str
    issuer: str | None
    section_path: tuple[str, ...]
    section_number: str | None
    level: str
    date: dt.date | None
    year: int | None
    text: str
    links: tuple[Link, ...]
    highlight: tuple[int, int] | None

    @property
    def parts(self) -> tuple[str, str, str]:
        """The text before, inside and after the highlighted span (all of it before when there is none)."""
        if self.highlight is None:
            return self.text, "", ""
        start, end = self.highlight
        return self.text[:start], self.text[start:end], self.text[end:]


def passage_detail(
    session: Session, passage_id: int, *, start: int | None = None, end: int | None = None
) -> PassageDetail:
    """The passage ``passage_id``; ``start``/``end`` mark the quoted sentence when they fit inside its text.

    Raises NotFoundError for a passage the store does not hold (e.g. removed by a later ingest).
    """
    passage = passages_by_id(session, [passage_id]).get(passage_id)
    if passage is None:
        raise NotFoundError(f"no passage {passage_id}")
    document = documents_by_id(session, [passage.document_id])[passage.document_id]
    source = reference_sources(session, [evidence_key(passage_id)])[evidence_key(passage_id)]
    reference = reference_from(source)
    fits = start is not None and end is not None and 0 <= start < end <= len(passage.text)
    highlight = (start, end) if fits else None
    return PassageDetail(
        passage_id=passage.id,
        document_id=document.id,
        kind=document.kind,
        title=document.title,
        issuer=source.issuer,
        section_path=tuple(passage.section_path),
        section_number=passage.section_number,
        level=document.level,
        date=document.date,
        year=document.year,
        text=passage.text,
        links=reference_links(reference),
        highlight=highlight,
    )
