"""Citation numbers and references: the evidence keys of an article body become numbered references.

The body of an article (guidelines, label and research sections) cites evidence only by key
(``ev-{passage_id}``). Once the body is composed, the composer calls, once::

    sources = reference_sources(session, body_keys(guidelines, labels, research))
    citation_numbers, references = number_citations(guidelines, labels, research, sources.get)

and builds the :class:`~vademecum.answer.article.Article` with both. ``resolve(key)`` returns the
:class:`ReferenceSource` of a key's passage, or ``None`` when it does not know the key (then
:class:`~vademecum.errors.CitationError` is raised: an unknown key is an error, never silently dropped).
:func:`reference_sources` builds that mapping from the evidence store; any other callable works too.

Rules, as in a printed bibliography:

- Keys are read in the order a reader meets them: the guidelines lead paragraph, key considerations,
  option groups, then each drug label block (quoted sections, summary line, NCI drug information),
  then the research groups. Inside a bullet, the sentences' keys (primary passage first) come before
  the label passages its dose notes point to.
- A language-model summary (:class:`~vademecum.answer.article.Summary`) cites passages the body quotes, so
  its keys already have numbers; its keys are read after the body's, so a passage only the summary still
  cites (once an editor removed the body's quote of it) keeps a reference.
- Numbers go to *documents*, by first use: several passages of one document share one number.
- Every key has a number, every number has exactly one reference, every reference is cited;
  :func:`check_citations` verifies this on a finished article and returns the problems it finds.
- A reference to a PDQ summary keeps the PubMed ids of the studies the cited passages themselves
  cite (``cited_pmids``), so a reader can go one level deeper.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vademecum.answer.article import (
    Article,
    Bullet,
    BulletGroup,
    GuidelineSection,
    LabelSection,
    Reference,
    ReferenceKind,
    ResearchSection,
    Summary,
    evidence_key,
    label_set_id,
)
from vademecum.errors import CitationError
from vademecum.evidence.models import CitedWork, EvidenceDocument, EvidencePassage

_KEY_PREFIX = evidence_key(0).removesuffix("0")


@dataclass(frozen=True, slots=True)
class ReferenceSource:
    """What the reference list needs to know about the passage behind one evidence key.

    Document fields repeat for every passage of a document; ``cited_pmids`` belongs to the passage
    (the studies that passage cites, in the order it cites them).
    """

    document_id: str
    kind: ReferenceKind
    title: str
    issuer: str | None
    year: int | None
    level: str
    url: str | None = None
    pmid: str | None = None
    doi: str | None = None
    set_id: str | None = None
    cited_pmids: tuple[str, ...] = ()
    licence: str | None = None
    licence_url: str | None = None


Resolver = Callable[[str], ReferenceSource | None]


def passage_id_of(key: str) -> int | None:
    """The passage id inside an evidence key (``ev-123`` → 123), or None if ``key`` is not one."""
    number = key.removeprefix(_KEY_PREFIX)
    if number == key or not number.isdigit():
        return None
    return int(number)


def _bullet_keys(bullet: Bullet) -> Iterator[str]:
    yield from bullet.keys
    for note in bullet.doses:
        if note.label_key is not None:
            yield note.label_key


def _group_keys(groups: Iterable[BulletGroup]) -> Iterator[str]:
    for group in groups:
        for sentence in group.lead:
            yield from sentence.keys
        for bullet in group.bullets:
            yield from _bullet_keys(bullet)


def _reading_order(guidelines: GuidelineSection, labels: LabelSection, research: ResearchSection) -> Iterator[str]:
    for bullet in guidelines.bottom_line:
        yield from _bullet_keys(bullet)
    yield from guidelines.guideline_keys
    for bullet in guidelines.key_considerations:
        yield from _bullet_keys(bullet)
    yield from _group_keys(guidelines.all_groups)
    for block in labels.blocks:
        for sentence in block.sentences:
            yield from sentence.keys
    yield from _group_keys(research.groups)


def body_keys(guidelines: GuidelineSection, labels: LabelSection, research: ResearchSection) -> tuple[str, ...]:
    """Every evidence key the body cites, once each, in reading order (the order numbering follows)."""
    return tuple(dict.fromkeys(_reading_order(guidelines, labels, research)))


def cited_keys(
    guidelines: GuidelineSection, labels: LabelSection, research: ResearchSection, summary: Summary | None = None
) -> tuple[str, ...]:
    """The body's keys (:func:`body_keys`), then any key only the summary cites, once each."""
    summary_keys = summary.keys if summary is not None else ()
    return tuple(dict.fromkeys((*body_keys(guidelines, labels, research), *summary_keys)))


def number_citations(
    guidelines: GuidelineSection,
    labels: LabelSection,
    research: ResearchSection,
    resolve: Resolver,
    summary: Summary | None = None,
) -> tuple[dict[str, int], tuple[Reference, ...]]:
    """Number the body's citations by first use of each document and build the reference list.

    Returns ``(citation_numbers, references)``: every key of the body mapped to the number of its
    document, and one :class:`Reference` per document, in number order (1, 2, 3, …).
    Raises :class:`CitationError` naming the key when ``resolve`` does not know it.
    """
    numbers_by_document: dict[str, int] = {}
    first_source: dict[str, ReferenceSource] = {}
    keys_by_document: dict[str, list[str]] = {}
    pmids_by_document: dict[str, dict[str, None]] = {}
    citation_numbers: dict[str, int] = {}
    for key in cited_keys(guidelines, labels, research, summary):
        source = resolve(key)
        if source is None:
            raise CitationError(f"the article cites {key}, which resolves to no source document")
        document = source.document_id
        if document not in numbers_by_document:
            numbers_by_document[document] = len(numbers_by_document) + 1
            first_source[document] = source
            keys_by_document[document] = []
            pmids_by_document[document] = {}
        citation_numbers[key] = numbers_by_document[document]
        keys_by_document[document].append(key)
        # dict as an ordered set: the studies in the order the article's passages cite them.
        pmids_by_document[document].update(dict.fromkeys(p for p in source.cited_pmids if p != source.pmid))
    references = tuple(
        reference_from(first_source[document], number, keys_by_document[document], pmids_by_document[document])
        for document, number in numbers_by_document.items()
    )
    return citation_numbers, references


def reference_from(
    source: ReferenceSource, number: int = 0, keys: Iterable[str] = (), cited_pmids: Iterable[str] = ()
) -> Reference:
    """The reference to ``source``'s document: its fields plus what numbering adds (number, keys, cited studies)."""
    document = {field.name: getattr(source, field.name) for field in dataclasses.fields(ReferenceSource)}
    document["cited_pmids"] = tuple(cited_pmids)
    return Reference(number=number, keys=tuple(keys), **document)


def check_citations(article: Article) -> list[str]:
    """Problems with an article's citations, as sentences; an empty list means the citations are sound.

    Checks: every cited key has a number; every number has a reference; every reference is cited;
    references are numbered 1..N without gaps or repeats; numbers follow first use; each
    reference's ``keys`` carry its own number.
    """
    problems: list[str] = []
    keys = cited_keys(article.guidelines, article.labels, article.research, article.summary)
    numbers = article.citation_numbers
    references = {reference.number: reference for reference in article.references}
    listed = [reference.number for reference in article.references]
    if len(references) != len(listed):
        repeated = sorted({n for n in listed if listed.count(n) > 1})
        problems.append(f"reference numbers listed more than once: {repeated}")
    if sorted(references) != list(range(1, len(references) + 1)):
        problems.append(f"references are not numbered 1..{len(references)}: {sorted(references)}")
    for key in keys:
        if key not in numbers:
            problems.append(f"{key} is cited in the body but has no citation number")
    for key in numbers.keys() - set(keys):
        problems.append(f"{key} has citation number {numbers[key]} but is not cited in the body")
    for key, number in numbers.items():
        if number not in references:
            problems.append(f"citation [{number}] ({key}) has no reference")
    cited = {numbers[key] for key in keys if key in numbers}
    for number in sorted(references.keys() - cited):
        problems.append(f"reference {number} is never cited")
    first_use = list(dict.fromkeys(numbers[key] for key in keys if key in numbers))
    if first_use != sorted(first_use):
        problems.append(f"citation numbers do not follow first use: body order is {first_use}")
    for reference in article.references:
        for key in reference.keys:
            if numbers.get(key) != reference.number:
                problems.append(f"reference {reference.number} lists {key}, which is numbered {numbers.get(key)}")
    return problems


def reference_sources(session: Session, keys: Iterable[str]) -> dict[str, ReferenceSource]:
    """The :class:`ReferenceSource` of each key whose passage is in the store (unknown keys are left out).

    ``cited_pmids`` are the PubMed ids of the works the passage cites from its document's own
    reference list (PDQ summaries), in citation order; works without a PMID are skipped.
    """
    wanted = {key: passage_id for key in keys if (passage_id := passage_id_of(key)) is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(EvidencePassage.id, EvidencePassage.citations, EvidenceDocument)
        .join(EvidenceDocument, EvidencePassage.document_id == EvidenceDocument.id)
        .where(EvidencePassage.id.in_(set(wanted.values())))
    ).all()
    passages = {row.id: (row.citations, row.EvidenceDocument) for row in rows}
    cited_documents = {document.id for citations, document in passages.values() if citations}
    pmid_of_label: dict[tuple[str, str], str] = {}
    if cited_documents:
        works = session.execute(
            select(CitedWork.document_id, CitedWork.label, CitedWork.pmid).where(
                CitedWork.document_id.in_(cited_documents), CitedWork.pmid.is_not(None)
            )
        )
        pmid_of_label = {(work.document_id, work.label): work.pmid for work in works}
    sources: dict[str, ReferenceSource] = {}
    for key, passage_id in wanted.items():
        if passage_id not in passages:
            continue
        citations, document = passages[passage_id]
        pmids = (pmid_of_label.get((document.id, label)) for label in citations)
        sources[key] = _source_of(document, tuple(dict.fromkeys(p for p in pmids if p)))
    return sources


def _source_of(document: EvidenceDocument, cited_pmids: tuple[str, ...]) -> ReferenceSource:
    kind = ReferenceKind(document.kind)
    # Research is cited by its journal; guidelines, labels and drug pages by who issued them.
    if kind is ReferenceKind.RESEARCH:
        issuer = document.journal or document.issuer
    else:
        issuer = document.issuer or document.manufacturer
    return ReferenceSource(
        document_id=document.id,
        kind=kind,
        title=document.title,
        issuer=issuer,
        year=document.year,
        level=document.level,
        url=document.url,
        pmid=document.pmid,
        doi=document.doi,
        set_id=label_set_id(document.id),
        cited_pmids=cited_pmids,
        # An open-access article's licence, as its reader stored it (e.g. JATS full texts).
        licence=(document.extra or {}).get("licence"),
        licence_url=(document.extra or {}).get("licence_url"),
    )
