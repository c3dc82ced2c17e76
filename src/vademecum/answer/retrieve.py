"""Retrieval per evidence kind: the passages an article may quote, ranked, with their documents.

Guidelines are chosen as whole documents (health-professional versions before patient versions,
the strongest and most recent first), then their best passages; studies relevant to the question are
ordered by whether their title or MeSH names its concepts, then by design and recency; drug labels are
found by the drug's names, or by the condition their Indications and Usage names, and read by LOINC
section.

A passage only counts as relevant when it (or its document title or section) mentions one of the
question's concepts by one of its MeSH entry terms: that is what keeps unrelated text out of an
article when the corpus has nothing on the question.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vademecum.answer.article import evidence_key
from vademecum.answer.population import Population, document_population, fits, fitting_documents, research_fits
from vademecum.answer.sentences import Span, stored_spans, stored_split
from vademecum.evidence import store
from vademecum.evidence.models import EvidenceDocument, EvidencePassage
from vademecum.records import Audience, DocumentKind, Passage
from vademecum.search.index import PassageHit, PassageIndex

BOXED_WARNING = "34066-1"
INDICATIONS = "34067-9"
DOSAGE = "34068-7"
LABEL_SECTIONS = (BOXED_WARNING, INDICATIONS, DOSAGE)
GUIDELINE_HITS = 300
GUIDELINE_HITS_DEEP = 2000
DEEP_WHEN_FEWER = 60
RESEARCH_HITS = 200
_SHORT_WORDS = frozenset({"in", "of", "or", "to", "an", "as", "at", "by", "on"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """A passage that may be quoted, with what a reference to it needs."""

    passage_id: int
    document_id: str
    kind: str
    level: str
    level_rank: int
    title: str
    section_path: tuple[str, ...]
    section_number: str | None
    section_code: str | None
    text: str
    score: float
    year: int | None
    date: dt.date | None
    issuer: str | None
    url: str | None
    pmid: str | None
    doi: str | None
    audience: str | None
    citations: tuple[str, ...] = ()
    evidence_levels: tuple[str, ...] = ()
    block: str = "paragraph"
    # A list item's list, number, nesting and lead-in length, as records.Passage describes them.
    block_id: int | None = None
    item_number: int | None = None
    depth: int = 0
    lead_end: int = 0
    stored_sentences: dict[str, object] | None = None

    @property
    def key(self) -> str:
        """The passage's citation key."""
        return evidence_key(self.passage_id)

    @property
    def sentences(self) -> list[Span]:
        """The passage's sentences, as split at ingest when the store has them."""
        return stored_spans(self.text, self.stored_sentences)


@dataclass(frozen=True, slots=True)
class ConceptMatcher:
    """Tells whether a text mentions the question's concepts, by any of their entry terms.

    Concepts come in groups (the conditions, the drugs): a text *covers* the question when it
    mentions at least one concept of every group.
    """

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[str]]) -> ConceptMatcher:
        """One pattern per group, matching any of its terms as whole words, case-insensitively, and not
        after "non-" ("non-small cell lung cancer" does not mention small cell lung cancer)."""
        patterns = []
        for terms in groups:
            words = {t.strip().casefold() for t in terms if len(t.strip()) >= 3}
            if words:
                alternation = _trie_pattern(words)
                # "non-" names the complement: "non-Hodgkin lymphoma" is not "Hodgkin lymphoma".
                patterns.append(re.compile(rf"(?<!\w)(?<!non-)(?<!non )(?:{alternation})(?!\w)", re.IGNORECASE))
        return cls(tuple(patterns))

    def matches(self, text: str) -> int:
        """How many of the groups ``text`` mentions."""
        return sum(1 for pattern in self.patterns if pattern.search(text))

    def covers(self, text: str) -> bool:
        """True when ``text`` mentions every group (always, when there are none)."""
        return self.matches(text) == len(self.patterns)

    @property
    def empty(self) -> bool:
        """True when the question named no concept to match."""
        return not self.patterns


@dataclass(frozen=True, slots=True)
class GuidelineChoice:
    """The guideline documents chosen for an article, best first, and their ranked passages."""

    documents: tuple[EvidenceDocument, ...]
    passages: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Study:
    """A study chosen for the research section: every passage of it in document order (those the search
    found carry their score), and whether its title or MeSH headings name the question's topic."""

    document_id: str
    passages: tuple[Evidence, ...]
    on_topic: bool


@dataclass(frozen=True, slots=True)
class LabelEvidence:
    """A drug's label in the corpus and the passages of its quoted sections."""

    drug: str
    document: EvidenceDocument
    passages: tuple[Evidence, ...]


@dataclass
class Retriever:
    """Runs the searches of one question against the index and the store."""

    index: PassageIndex
    session: Session
    matcher: ConceptMatcher

    def guidelines(
        self,
        query: str,
        *,
        section_words: Sequence[str] = (),
        max_documents: int = 3,
        max_passages: int = 150,
        population: Population | None = None,
    ) -> GuidelineChoice:
        """The best guideline documents for ``query`` and their relevant passages.

        Documents are scored by the sum of their three best passage scores; those within half of
        the best document's score are kept, ordered health-professional first, then by level and date.
        Besides the passages the query finds, the chosen documents' passages under a heading that
        contains one of ``section_words`` (the sections on what the question asks) are included.
        With ``population``, only documents written for it are considered
        (:func:`~vademecum.answer.population.fitting_documents`: no guideline for people answers a
        question about cats, no children's summary an adult's question).
        """
        by_document, relevant, written_for = self._guideline_candidates(query, GUIDELINE_HITS, population)
        # A summary that repeats the question's words in every heading can fill the first page of hits
        # although it is written for another population (the children's summary, for a question on
        # adults or of no stated age) and hide the summary the question is about: when many hits are
        # relevant but few from summaries written for the question's population, the search reads deeper.
        if written_for < DEEP_WHEN_FEWER <= relevant:
            by_document, _, _ = self._guideline_candidates(query, GUIDELINE_HITS_DEEP, population)
        if not by_document:
            return GuidelineChoice((), ())
        hits = [hit for group in by_document.values() for hit in group]
        doc_scores = {
            d: sum(h.score for h in sorted(group, key=lambda h: -h.score)[:3]) for d, group in by_document.items()
        }
        best = max(doc_scores.values())
        documents = store.documents_by_id(self.session, (d for d, score in doc_scores.items() if score >= 0.5 * best))
        candidates = list(documents.values())
        intent_title = words_pattern(section_words) if section_words else None
        candidates.sort(
            key=lambda d: (
                d.audience != Audience.HEALTH_PROFESSIONAL.value,
                # A summary whose title names the concepts is about them; others only discuss them.
                self.matcher.matches(d.title) < len(self.matcher.patterns),
                # ... and a title naming what is asked ("… Prevention", "… Screening") is the summary for it.
                not (intent_title and intent_title.search(d.title)),
                -doc_scores[d.id] // (0.25 * best),
                d.level_rank,
                -(d.date.toordinal() if d.date else 0),
            )
        )
        chosen = candidates[:max_documents]
        chosen_ids = {d.id for d in chosen}
        kept = [hit for hit in hits if hit.passage.document_id in chosen_ids]
        found = self._evidence(kept, documents)
        if section_words:
            found = self._with_sections(found[: max_passages // 2], chosen, section_words, max_passages)
        return GuidelineChoice(tuple(chosen), tuple(found[:max_passages]))

    def _guideline_candidates(
        self, query: str, limit: int, population: Population | None
    ) -> tuple[dict[str, list[PassageHit]], int, int]:
        """The relevant hits of the guideline documents that may answer the question, by document; how
        many hits were relevant before the population was considered; and how many are from documents
        written for the question's population (not a fallback).

        A guideline is about the question only if its title or a heading names one of the concepts (a
        passing mention in an unrelated summary does not make it guidance on the topic), and only if it is
        written for the question's population.
        """
        hits = self._relevant(self.index.search(query, kinds=[DocumentKind.GUIDELINE.value], limit=limit))
        by_document: dict[str, list[PassageHit]] = defaultdict(list)
        for hit in hits:
            by_document[hit.passage.document_id].append(hit)
        if not self.matcher.empty:
            by_document = {
                d: group
                for d, group in by_document.items()
                if any(self.matcher.matches(f"{h.passage.title} {h.passage.section}") for h in group)
            }
        relevant = sum(len(group) for group in by_document.values())
        if population is None or not by_document:
            return dict(by_document), relevant, relevant
        populations = {d: document_population(group[0].passage.title, d) for d, group in by_document.items()}
        fitting = set(fitting_documents(population, populations))
        written_for = sum(len(by_document[d]) for d in fitting if fits(population, populations[d]))
        return {d: group for d, group in by_document.items() if d in fitting}, relevant, written_for

    def _with_sections(
        self, found: list[Evidence], documents: Sequence[EvidenceDocument], section_words: Sequence[str], limit: int
    ) -> list[Evidence]:
        """Add the documents' passages under headings naming the asked-about content, scored below the hits."""
        pattern = words_pattern(section_words)
        have = {e.passage_id for e in found}
        under = store.passages_under(
            self.session, (d.id for d in documents), lambda path: bool(pattern.search(" ".join(path)))
        )
        wanted = [passage_id for passage_id in under if passage_id not in have][: max(0, limit - len(found))]
        by_id = {d.id: d for d in documents}
        floor = 0.5 * max((e.score for e in found), default=1.0)
        added = [
            make_evidence(passage, by_id[passage.document_id], floor)
            for passage in store.passages_by_id(self.session, wanted).values()
        ]
        return sorted(found + added, key=lambda e: -e.score)

    def studies(
        self,
        query: str,
        *,
        about: ConceptMatcher,
        population: Population | None = None,
        prefer: re.Pattern[str] | None = None,
        max_studies: int = 3,
        relevance_floor: float = 0.5,
    ) -> tuple[Study, ...]:
        """The studies an article's research section quotes: among those relevant to ``query`` (a best
        passage scoring at least ``relevance_floor`` of the best study's), the studies whose title or MeSH
        headings name what ``about`` stands for come first, then those whose title ``prefer`` finds (what
        the question asks about: a treatment question prefers studies of giving a treatment); then
        stronger designs (meta-analyses and systematic reviews, randomised trials, other designs) and,
        within a design, the newest."""
        hits, headings = self._research_hits(query, population)
        if not hits:
            return ()
        best_score: dict[str, float] = {}
        for hit in hits:
            document_id = hit.passage.document_id
            best_score[document_id] = max(best_score.get(document_id, 0.0), hit.score)
        top = max(best_score.values())
        candidates = [d for d, score in best_score.items() if score >= relevance_floor * top]
        documents = store.documents_by_id(self.session, candidates)
        titled = {
            d.id: bool(about.matches(" ".join([d.title, *headings.get(d.id, ())]))) if not about.empty else True
            for d in documents.values()
        }
        chosen = sorted(
            documents.values(),
            key=lambda d: (
                not titled[d.id],
                prefer is not None and not prefer.search(d.title),
                d.level_rank,
                -(d.year or 0),
                -best_score[d.id],
            ),
        )[:max_studies]
        by_document: dict[str, list[PassageHit]] = defaultdict(list)
        for hit in hits:
            by_document[hit.passage.document_id].append(hit)
        studies = []
        for document in chosen:
            found = {e.passage_id: e for e in self._evidence(by_document[document.id], {document.id: document})}
            passages = tuple(
                found.get(p.id) or make_evidence(p, document, 0.0)
                for p in store.document_passages(self.session, document.id)
            )
            studies.append(Study(document.id, passages, titled[document.id]))
        return tuple(studies)

    def _research_hits(
        self, query: str, population: Population | None
    ) -> tuple[list[PassageHit], dict[str, list[str]]]:
        """The relevant research hits for ``query`` that fit ``population``, and the MeSH descriptors of
        their studies (by document id)."""
        hits = self._relevant(self.index.search(query, kinds=[DocumentKind.RESEARCH.value], limit=RESEARCH_HITS))
        if not hits:
            return [], {}
        # One query for the headings of every candidate study (the store defers them).
        titles = {hit.passage.document_id: hit.passage.title for hit in hits}
        rows = self.session.execute(
            select(EvidenceDocument.id, EvidenceDocument.mesh_headings).where(EvidenceDocument.id.in_(list(titles)))
        )
        headings = {d: [h["descriptor"] for h in found or ()] for d, found in rows}
        if population is not None:
            fitting = {d for d in titles if research_fits(population, titles[d], headings.get(d, []))}
            hits = [hit for hit in hits if hit.passage.document_id in fitting]
        return hits, headings

    def label_for(
        self, drug: str, names: Sequence[str], indicated: ConceptMatcher | None = None
    ) -> LabelEvidence | None:
        """The newest label in the corpus whose brand or generic names include one of ``names``; with
        ``indicated``, a label whose Indications and Usage names that condition comes first (a drug's
        labels can be for different products: everolimus for transplant rejection and for tumours)."""
        wanted = {name.casefold() for name in (drug, *names)}
        hits = self.index.search(
            " ".join(dict.fromkeys([drug, *names])), kinds=[DocumentKind.DRUG_LABEL.value], limit=50
        )
        documents = store.documents_by_id(self.session, (h.passage.document_id for h in hits))
        matching = [
            d for d in documents.values() if wanted & {n.casefold() for n in (*d.brand_names, *d.generic_names)}
        ]
        if not matching:
            return None
        labels = [self._label(drug, document) for document in matching]
        return max(
            labels,
            key=lambda label: (
                indicated is not None and _indicated_for(label, indicated),
                label.document.date or dt.date.min,
                len(label.document.brand_names),
            ),
        )

    def labels_indicated(
        self, query: str, indicated: ConceptMatcher, *, most: int, exclude: Iterable[str] = (), limit: int = 300
    ) -> list[LabelEvidence]:
        """Up to ``most`` labels whose Indications and Usage names the condition ``indicated`` stands for,
        newest first, one per drug (its newest such label), none of the documents ``exclude``; each named
        by the label's generic name."""
        excluded = set(exclude)
        if indicated.empty:
            return []
        hits = self.index.search(query, kinds=[DocumentKind.DRUG_LABEL.value], limit=limit)
        # Only labels with a hit in their indications that names the condition are read further.
        candidates = {
            h.passage.document_id
            for h in hits
            if "indications" in h.passage.section.casefold() and indicated.matches(h.passage.text)
        }
        documents = store.documents_by_id(self.session, candidates)
        ordered = sorted(documents.values(), key=lambda d: d.date or dt.date.min, reverse=True)
        found: dict[str, LabelEvidence] = {}
        for document in ordered:
            if len(found) >= most:
                break
            generic = next(iter(document.generic_names), None) or next(iter(document.brand_names), None)
            if generic is None or generic.casefold() in found or document.id in excluded:
                continue
            label = self._label(_drug_name(generic), document)
            if _indicated_for(label, indicated):
                found[generic.casefold()] = label
        return list(found.values())

    def _label(self, drug: str, document: EvidenceDocument) -> LabelEvidence:
        passages = store.document_passages(self.session, document.id, LABEL_SECTIONS)
        return LabelEvidence(drug, document, tuple(self._stored_evidence(passages, document)))

    def drug_information(self, drug: str) -> tuple[Evidence, ...]:
        """The NCI drug information page for ``drug``, when one is indexed (its approved uses)."""
        hits = self.index.search(drug, kinds=[DocumentKind.DRUG_INFORMATION.value], limit=20)
        documents = store.documents_by_id(self.session, (h.passage.document_id for h in hits))
        # Pages are titled by the drug, sometimes with its salt ("Lanreotide Acetate").
        wanted = re.compile(rf"(?<!\w){re.escape(drug)}(?!\w)", re.IGNORECASE)
        for document in documents.values():
            if any(wanted.search(name) for name in (document.title, *document.generic_names, *document.brand_names)):
                passages = store.document_passages(self.session, document.id)
                return tuple(self._stored_evidence(passages, document))
        return ()

    # -- helpers ----------------------------------------------------------------------------

    def _relevant(self, hits: list[PassageHit]) -> list[PassageHit]:
        return [
            hit for hit in hits if self.matcher.covers(f"{hit.passage.title} {hit.passage.section} {hit.passage.text}")
        ]

    def _evidence(self, hits: Sequence[PassageHit], documents: dict[str, EvidenceDocument]) -> list[Evidence]:
        stored = store.passages_by_id(self.session, (h.passage.passage_id for h in hits))
        found = []
        for hit in hits:
            passage = stored.get(hit.passage.passage_id)
            document = documents.get(hit.passage.document_id)
            if passage is not None and document is not None:
                found.append(make_evidence(passage, document, hit.score))
        return found

    @staticmethod
    def _stored_evidence(passages: Sequence[EvidencePassage], document: EvidenceDocument) -> list[Evidence]:
        return [make_evidence(passage, document, 0.0) for passage in passages]


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, factored by common prefixes.

    A flat alternation of hundreds of terms (a condition's MeSH entry terms and narrower terms) is tried
    term by term at every position of a text; factored, each position costs about one term's length.
    Longer words are tried before their prefixes, so the longest term at a position matches.
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie)


def _indicated_for(label: LabelEvidence, indicated: ConceptMatcher) -> bool:
    return any(
        p.section_code == INDICATIONS and indicated.matches(f"{' '.join(p.section_path[1:])} {p.text}")
        for p in label.passages
    )


def _drug_name(generic: str) -> str:
    """A label's generic name as prose writes it ("LUTETIUM LU 177 DOTATATE" → "Lutetium Lu 177 dotatate")."""
    if not generic.isupper():
        return generic
    words = generic.casefold().split()
    # Two-letter words of an upper-case name are element symbols ("Lu", "Tc"), short words aside.
    return " ".join(
        w[:1].upper() + w[1:] if i == 0 or (len(w) == 2 and w not in _SHORT_WORDS) else w for i, w in enumerate(words)
    )


def words_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """Matches any of ``words`` at the start of a word (they may be stems: "therap", "diagnos")."""
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)


def make_evidence(passage: EvidencePassage, document: EvidenceDocument, score: float) -> Evidence:
    """The retrieval view of a stored passage and its document."""
    return Evidence(
        passage_id=passage.id,
        document_id=document.id,
        kind=document.kind,
        level=document.level,
        level_rank=document.level_rank,
        title=document.title,
        section_path=tuple(passage.section_path),
        section_number=passage.section_number,
        section_code=passage.section_code,
        text=passage.text,
        score=score,
        year=document.year,
        date=document.date,
        issuer=document.issuer or document.journal,
        url=document.url,
        pmid=document.pmid,
        doi=document.doi,
        audience=document.audience,
        citations=tuple(passage.citations),
        evidence_levels=tuple(passage.evidence_levels),
        block=passage.block,
        block_id=passage.block_id,
        item_number=passage.item_number,
        depth=passage.depth or 0,
        lead_end=passage.lead_end or 0,
        stored_sentences=passage.sentences,
    )


def read_by_heading(kind: str) -> bool:
    """Whether articles pick passages of documents of ``kind`` by heading (guidelines), so that ingest stores
    their heading maps; a map of every abstract and label cost a tenth of a MEDLINE ingest, for nothing."""
    return kind == DocumentKind.GUIDELINE.value


def quoted_split(kind: str, passage: Passage) -> dict[str, object] | None:
    """The sentence split ingest stores with ``passage``: for the passages an article quotes sentence by
    sentence (guidelines; a label's boxed warning, indications and dosage), None for the others."""
    if kind == DocumentKind.GUIDELINE.value or (
        kind == DocumentKind.DRUG_LABEL.value and passage.section_code in LABEL_SECTIONS
    ):
        return stored_split(passage.text)
    return None
