"""Article quality, scored against the PDQ treatment summaries the articles should quote.

For every adult health-professional PDQ treatment summary of the corpus, the scorer asks "What is the
treatment for <disease>?" (the disease named as the summary's title names it) through the real ask service
and scores the article against *that* summary, which it reads itself from the Markdown file with the
readers' own helpers, independently of how the composer works:

- **list recall**: the share of the items of the summary's option lists (:func:`option_items`) that the
  article quotes (:func:`item_quoted`);
- **agent recall**: the share of the drugs named by the summary's ``Evidence (X):`` leads (:func:`agents`)
  that the article's body names (:func:`agent_named`);
- **junk**: article sentences that are captions, reference strings, abbreviation glossaries, clinical-trial
  boilerplate or fragments leaning on a sentence they do not follow (:func:`junk_reason`);
- **off-intent**: guideline sentences from sections that are not about treatment (:func:`is_treatment_path`),
  as a share of the guideline sentences;
- **body words** (Markdown before "## References") and the ask latency.

Nothing here names a disease: summaries are found by file name pattern and audience, and every rule reads
the structure the PDQ template gives all summaries. ``vademecum eval articles`` prints the figures.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vademecum.answer.article import Article, CitedSentence, ReferenceKind, SourceLocation
from vademecum.answer.render import to_markdown
from vademecum.answer.sentences import needs_context
from vademecum.answer.verify import article_sentences
from vademecum.errors import VademecumError
from vademecum.evidence import store
from vademecum.records import Audience, SourceDocument
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime
from vademecum.sources import pdq
from vademecum.sources.markdown import (
    Block,
    SectionTracker,
    clean_inline,
    decode_text,
    parse_blocks,
    split_front_matter,
    strip_images,
    with_lead_ins,
)
from vademecum.vocab.drugs import DrugLexicon

PDQ_DIR = Path("guidelines") / "nci-pdq"
SUMMARY_GLOB = "types-*-hp-*treatment*.md"
QUESTION_TEMPLATE = "What is the treatment for {disease}?"

# What the article should reach; shown beside the figures.
TARGETS: dict[str, float] = {
    "list_recall": 0.90,
    "agent_recall": 0.90,
    "junk": 0,
    "off_intent_share": 0.02,
    "median_body_words": 900,
}
# An item split over several quoted sentences counts as quoted when this share of its word characters is.
ITEM_COVERAGE = 0.8

# --- Which summaries ---------------------------------------------------------------------------------------

# Summaries for children: PDQ says so in the title or URL ("Childhood …", "/hp/child-…", "pediatric-…").
_CHILD = re.compile(r"\b(?:child|childhood|children|pediatric|paediatric|juvenile)\b", re.IGNORECASE)
_TITLE_SUFFIX = re.compile(r"\s*(?:\(PDQ®?\).*|[–-]\s*Health Professional Version)$")
_TREATMENT_WORD = re.compile(r"\s*\bTreatment\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"[A-Z][a-z]+")


def summary_paths(corpus: Path) -> list[Path]:
    """The corpus's health-professional PDQ treatment summary files (by the NCI file naming), sorted."""
    return sorted((corpus / PDQ_DIR).glob(SUMMARY_GLOB))


def is_adult_professional(document: SourceDocument) -> bool:
    """A summary for health professionals about adults: not for children by title, URL or editorial board.

    The board is checked too because a few summaries for children say so only there.
    """
    board = str(document.extra.get("editorial_board", ""))
    return (
        document.audience is Audience.HEALTH_PROFESSIONAL
        and not _CHILD.search(document.title)
        and not _CHILD.search(document.url or "")
        and "pediatric" not in board.casefold()
    )


def disease_name(title: str, text: str) -> str:
    """The disease as the summary's title names it, cased as the summary's own text writes it.

    "Merkel Cell Carcinoma Treatment (PDQ®)–Health Professional Version" → "Merkel cell carcinoma": the
    PDQ suffix and the word "Treatment" go ("… Treatment During Pregnancy" → "… during pregnancy"); a
    capitalised word (or part of a hyphenated word) is lower-cased when ``text`` (the summary's plain
    text) writes it in lower case at least a quarter as often as capitalised, so names keep their capitals.
    """
    name = _TITLE_SUFFIX.sub("", title.strip())
    name = _TREATMENT_WORD.sub("", name).strip() or name
    counts = Counter(re.findall(r"[A-Za-z]+", text))

    def recase(match: re.Match[str]) -> str:
        # A name ("Hodgkin") is almost always written with its capital; a common word is often written in
        # lower case, though title-case link texts and table headings capitalise it too.
        word = match.group(0)
        return word.lower() if 4 * counts[word.lower()] >= counts[word] else word

    return _CAPITALISED.sub(recase, name)


# --- What the summary says ---------------------------------------------------------------------------------

# Headings about the disease rather than its care; a section path under one is not about treatment.
_BACKGROUND_HEADING = re.compile(
    r"^(?:general information|(?:[\w-]+ )?classification|stag(?:e|ing)\b|incidence|epidemiology|genomic|genetic"
    r"|molecular|histo|patholog|tumor pathology|prognos|risk|diagnos|screening|key references|anatomy"
    r"|clinical (?:presentation|features)|biolog)",
    re.IGNORECASE,
)
# Headings about care: treatment in general, or a modality ("Neoadjuvant Chemotherapy for …").
_TREATMENT_HEADING = re.compile(
    r"\b(?:treatments?|treating|\w*therap(?:y|ies|eutic)|management|managing|follow-up|surveillance|options?"
    r"|surgery|surgical|resection|\w+ectomy|excision|radiation|irradiation|transplant\w*|palliati\w+)\b",
    re.IGNORECASE,
)
# The summary template's editorial and boilerplate sections (the PDQ reader keeps no passage from them).
_EDITORIAL = re.compile(
    r"^(?:Latest Updates to This|Changes to This Summary|About This PDQ Summary|Current Clinical Trials)", re.IGNORECASE
)
_REFERENCES = re.compile(r"^References$", re.IGNORECASE)
# A list lead-in that announces options ("Treatment options for stage III MCC include:"), not evidence.
_OPTIONS_LEAD = re.compile(r"\boptions\b", re.IGNORECASE)
_OPTIONS_HEADING = re.compile(r"^Treatment Options (?:for|of)\b", re.IGNORECASE)
_EVIDENCE_LEAD = re.compile(r"^Evidence \(")


def is_treatment_path(section_path: Sequence[str]) -> bool:
    """Whether a section path is about treatment, management or follow-up.

    The outermost heading that says either decides: one about the disease (general information,
    classification, staging, incidence, genomics, prognosis, …) puts the path off treatment; one naming
    treatment, a therapy or another modality (surgery, radiation, transplant), management, follow-up or
    options puts it on. A topic heading that says neither
    ("Papillary and Follicular Thyroid Cancer") leaves the decision to the headings below it; a path that
    never says is not about treatment.
    """
    for heading in section_path:
        if _BACKGROUND_HEADING.match(heading):
            return False
        if _TREATMENT_HEADING.search(heading):
            return True
    return False


@dataclass(frozen=True, slots=True)
class OptionItem:
    """An item of one of the summary's option lists.

    ``text`` is the item's plain text without its lead-in; ``lead`` the plain text of the lead-in its
    passage repeats before it (None for a list straight under a heading); ``line`` its line in the file.
    """

    text: str
    lead: str | None
    section_path: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Agent:
    """A drug the summary gives evidence on: its generic ``name`` and every ``names`` that counts as naming it."""

    name: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """One PDQ treatment summary, read for scoring."""

    path: Path
    document_id: str
    title: str
    disease: str
    items: tuple[OptionItem, ...]
    agents: tuple[Agent, ...]

    @property
    def question(self) -> str:
        """The question asked for this summary."""
        return QUESTION_TEMPLATE.format(disease=self.disease)


@dataclass(frozen=True, slots=True)
class _Located:
    """A body block of the summary with its plain lead-in, section path and the list it belongs to."""

    block: Block
    lead: str | None
    section_path: tuple[str, ...]
    top: int
    option_list: bool


def _located_blocks(blocks: Iterable[Block]) -> Iterator[_Located]:
    """The summary's body blocks outside references and editorial sections, as the PDQ reader walks them.

    ``option_list`` tells, for a list item, whether its list is an option list: its lead-in announces
    options (and is no ``Evidence (…)`` lead), or the list starts straight under a "Treatment Options
    for/of …" heading.
    """
    tracker = SectionTracker()
    top = 0
    in_references = False
    heading = ""
    previous: Block | None = None
    option_list = False
    for block, lead in with_lead_ins(blocks, _plain):
        if block.kind == "heading":
            heading = clean_inline(block.text)
            if block.level > 1:
                in_references = bool(_REFERENCES.match(heading))
                if not in_references:
                    top += block.level == 2
                    tracker.enter(block.level, heading, str(top) if block.level == 2 else None)
            previous = block
            continue
        plain_lead = pdq.extract(lead, top)[0] if lead else None
        if block.kind == "item" and (previous is None or previous.kind != "item"):
            # The first item of a list has the list's own lead-in (nested items add their parents to it).
            announced = bool(plain_lead and _OPTIONS_LEAD.search(plain_lead) and not _EVIDENCE_LEAD.match(plain_lead))
            under_heading = plain_lead is None and previous is not None and previous.kind == "heading"
            option_list = announced or (under_heading and bool(_OPTIONS_HEADING.match(heading)))
        previous = block
        if in_references or not tracker.path or any(_EDITORIAL.match(title) for title in tracker.path):
            continue
        yield _Located(block, plain_lead, tracker.path, top, block.kind == "item" and option_list)


def _plain(raw: str) -> str:
    """Plain text of raw PDQ Markdown (citations and level-of-evidence notes removed)."""
    return pdq.extract(raw, 0)[0]


def option_items(blocks: Iterable[Block]) -> list[OptionItem]:
    """The items of the summary's option lists in its treatment sections, in order (see :func:`_located_blocks`)."""
    return _option_items(_located_blocks(blocks))


def _option_items(located_blocks: Iterable[_Located]) -> list[OptionItem]:
    items = []
    for located in located_blocks:
        if located.option_list and is_treatment_path(located.section_path):
            text = pdq.extract(strip_images(located.block.text), located.top)[0]
            if len(text) >= 2:
                items.append(OptionItem(text, located.lead, located.section_path, located.block.line))
    return items


def evidence_subjects(blocks: Iterable[Block]) -> list[str]:
    """The X of each ``Evidence (X):`` lead in the summary's treatment sections, in order (repeats kept)."""
    return _evidence_subjects(_located_blocks(blocks))


def _evidence_subjects(located_blocks: Iterable[_Located]) -> list[str]:
    subjects = []
    for located in located_blocks:
        if located.block.kind != "paragraph" or not is_treatment_path(located.section_path):
            continue
        text = pdq.extract(located.block.text, located.top)[0]
        if _EVIDENCE_LEAD.match(text):
            subjects.append(_parenthesised(text, text.index("(")))
    return subjects


def _parenthesised(text: str, start: int) -> str:
    """The text inside the parenthesis opening at ``start`` (nested parentheses kept)."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index].strip()
    return text[start + 1 :].strip()


def agents(subjects: Iterable[str], drugs: DrugLexicon) -> list[Agent]:
    """The drugs named by evidence subjects, each once, in order of first appearance.

    A subject naming several drugs ("nivolumab and ipilimumab") gives one agent per drug; a subject that
    names none ("surgery", "chemotherapy") gives none.
    """
    found: dict[str, Agent] = {}
    for subject in subjects:
        for mention in drugs.find(subject):
            if mention.name not in found:
                names = {mention.text.casefold(), mention.name.casefold(), *drugs.names_for(mention.name)}
                found[mention.name] = Agent(mention.name, tuple(sorted(name for name in names if len(name) > 2)))
    return list(found.values())


def read_summary(path: Path, drugs: DrugLexicon, only: str | None = None) -> Summary | None:
    """The summary in ``path`` ready for scoring; None unless it is an adult health-professional summary
    (and, with ``only``, unless its file name or title contains ``only``, any case)."""
    text = decode_text(path.read_bytes(), path.name)
    meta, body, first_line = split_front_matter(text, path.name)
    # The header says enough to skip most files before the body is parsed.
    header = f"{path.name} {meta.get('title', '')}".casefold()
    if _CHILD.search(f"{meta.get('title', '')} {meta.get('url', '')}") or (only and only.casefold() not in header):
        return None
    blocks = parse_blocks(body, first_line)
    document = pdq.parse_summary(meta, blocks, path.name)
    if document is None or not is_adult_professional(document):
        return None
    located = list(_located_blocks(blocks))
    # The body's own words (reference lists are left out: their titles are in title case).
    plain = " ".join(clean_inline(entry.block.text) for entry in located)
    return Summary(
        path=path,
        document_id=document.doc_id,
        title=document.title,
        disease=disease_name(document.title, plain),
        items=tuple(_option_items(located)),
        agents=tuple(agents(_evidence_subjects(located), drugs)),
    )


def load_summaries(
    corpus: Path, drugs: DrugLexicon, only: str | None = None, limit: int | None = None
) -> list[Summary]:
    """The adult health-professional treatment summaries of the corpus, in file name order.

    ``only`` keeps those whose file name or title contains it (any case); ``limit`` keeps the first so many.
    """
    summaries = []
    for path in summary_paths(corpus):
        summary = read_summary(path, drugs, only)
        if summary is not None:
            summaries.append(summary)
        if limit is not None and len(summaries) >= limit:
            break
    return summaries


# --- What the article quotes -------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_ITEM_NUMBER = re.compile(r"\s*\d{1,3}[.)]\s+")


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def _cites(sentence: CitedSentence, document_id: str, section_path: tuple[str, ...]) -> bool:
    """Whether the sentence quotes (or is merged with) a passage of that document section."""
    return any(
        location.document_id == document_id and tuple(location.section_path) == section_path
        for location in (sentence.source, *sentence.supporting)
    )


def item_coverage(item: OptionItem, document_id: str, sentences: Iterable[CitedSentence]) -> float:
    """The share of the item's word characters found in the article's sentences quoted from its section.

    A sentence covers the part of the item it repeats: its passage repeats the lead-in before the item,
    so the sentence is cut after the lead-in (or after any ": ", and after an item number such as "4. ")
    and what follows must be a piece of the item (an item split over sentences is covered piece by piece).
    A sentence that holds the whole item right after a colon covers it too (an item that leads a nested
    list, repeated before each sub-item).
    """
    target = _normal(item.text)
    lead = _normal(item.lead) if item.lead else None
    covered = [False] * len(target)
    for sentence in sentences:
        if not _cites(sentence, document_id, item.section_path):
            continue
        text = _normal(sentence.text)
        if f": {target}" in text or text.startswith(target):
            return 1.0
        cuts = [0] + [match.end() for match in re.finditer(": ", text)]
        if lead and text.startswith(lead):
            cuts.append(len(lead))
        # A numbered item a reader ran into the text before it keeps its number ("… 4. Checkpoint …").
        cuts += [cut + number.end() for cut in cuts if (number := _ITEM_NUMBER.match(text[cut:]))]
        for cut in sorted(set(cuts)):
            piece = text[cut:].strip()
            start = target.find(piece) if piece else -1
            if start >= 0:
                covered[start : start + len(piece)] = [True] * len(piece)
                break
    letters = [index for index, char in enumerate(target) if char.isalnum()]
    return sum(covered[index] for index in letters) / len(letters) if letters else 0.0


def item_quoted(item: OptionItem, document_id: str, sentences: Iterable[CitedSentence]) -> bool:
    """Whether the article quotes the item (at least :data:`ITEM_COVERAGE` of it)."""
    return item_coverage(item, document_id, sentences) >= ITEM_COVERAGE


def body_markdown(article: Article) -> str:
    """The article's Markdown up to its references (title, status lines and the three evidence sections)."""
    return to_markdown(article).split("\n## References", 1)[0]


def agent_named(agent: Agent, body: str) -> bool:
    """Whether ``body`` (article Markdown) names the agent by one of its names, as a whole word, any case."""
    text = body.replace("\\", "").casefold()
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) for name in agent.names)


def body_words(body: str) -> int:
    """Words of the Markdown body: whitespace-separated tokens with a letter (markup and citations are not)."""
    return sum(1 for token in body.split() if any(char.isalpha() for char in token))


# --- Junk --------------------------------------------------------------------------------------------------

_CAPTION = re.compile(r"^\W{0,3}(?:Figure|Fig\.|Table)\s*\d+[A-Za-z]?\s*[.:]", re.IGNORECASE)
_NAME = r"[A-Z][\w'’\-]*[a-z][\w'’\-]*(?: [A-Z][\w'’\-]*[a-z][\w'’\-]*)*"
_AUTHOR = rf"{_NAME} [A-Z]{{1,3}}"
# A reference opens with its authors: "Surname AB, Surname CD: Title", "Surname AB, et al.: Title",
# "Surname AB et al: Title" (a footnote letter may be glued to the front), or one "Surname AB: Title …, 2009".
_REFERENCE_START = re.compile(
    rf"^\W?[a-z]?{_AUTHOR}(?:(?:, {_AUTHOR})+(?:,? et al\.?)?|,? et al\.?):\s"
    rf"|^\W?[a-z]?{_AUTHOR}:\s.*\b(?:19|20)\d\d\b"
)
_ET_AL_COLON = re.compile(r"\bet al\.?:\s")
_CREDIT = re.compile(r"\b(?:reprinted|adapted)\b.*\bpermission\b|©|\bcopyright\b", re.IGNORECASE)
_CREDIT_START = re.compile(r"^\W?[a-z]?(?:reprinted|adapted|reproduced)\b", re.IGNORECASE)
# "NOS = not otherwise specified; SEER = Surveillance, …": the whole sentence is definitions.
_GLOSSARY = re.compile(r"^\W?(?:[\w/+()\-]+(?: [\w/+()\-]+){0,3} = [A-Za-z][^=;]*(?:;\s*|\.?$))+$")
_GLOSSARY_PAIR = re.compile(r"([\w/+()\-]+(?: [\w/+()\-]+){0,3}) = ([^=;]*)")
_WORD_PARTS = re.compile(r"[^\W_]+")


def is_glossary(text: str) -> bool:
    """Whether ``text`` is only abbreviation definitions: two or more ``X = …`` separated by semicolons, or one
    whose expansion spells its abbreviation ("NOS = not otherwise specified").

    One definition that spells nothing ("T0 = No evidence of primary tumor.") is a staging table's row, not
    a glossary.
    """
    if "=" not in text or not _GLOSSARY.match(text):
        return False
    pairs = _GLOSSARY_PAIR.findall(text)
    return len(pairs) >= 2 or any(_spells(key, value) for key, value in pairs)


def _spells(abbreviation: str, expansion: str) -> bool:
    """Whether ``abbreviation`` (letters only: staging codes such as "T1c" have digits) is spelt, in order,
    by initials of the words of ``expansion``, starting with the first."""
    key = abbreviation.strip("–−-— ").casefold()
    initials = [part[0] for part in _WORD_PARTS.findall(expansion.casefold())]
    if len(key) < 2 or not all(char.isalpha() or char in "-/" for char in key) or not initials:
        return False
    letters = [char for char in key if char.isalpha()]
    remaining = iter(initials[1:])
    return letters[0] == initials[0] and all(letter in remaining for letter in letters[1:])


_TRIALS_BOILERPLATE = re.compile(
    r"advanced clinical trial search|NCI-supported cancer clinical trials|clinical trials that are now enrolling"
    r"|general information about clinical trials|search can be narrowed by location of the trial",
    re.IGNORECASE,
)
_TRIALS_SECTION = re.compile(r"^Current Clinical Trials\b", re.IGNORECASE)
# Openers that point back as surely as those of sentences.needs_context: an ordinal or "the other" going on
# with an enumeration ("In the second …", "The latter …"; not "second-line"), and the number of a list item
# cut from its list ("2. …").
_LEANING_OPENER = re.compile(
    r"^(?:(?:in |for |with |of )?the (?:second|third|fourth|fifth|latter|former|other|remaining)(?![\w-])"
    r"|(?:second|third|fourth|finally|lastly),"
    r"|[2-9]\d?\.\s+[A-Z])",
    re.IGNORECASE,
)


def leans(sentence: str) -> bool:
    """Whether a sentence leans on the one before it: :func:`~vademecum.answer.sentences.needs_context`, or
    an ordinal or numbered-item opener (:data:`_LEANING_OPENER`)."""
    return needs_context(sentence) or bool(_LEANING_OPENER.match(sentence.lstrip(" \t\"'“‘([-–—•*")))


def junk_reason(
    sentence: CitedSentence,
    previous: CitedSentence | None,
    starts_unit: bool,
    passage_text: str | None = None,
) -> str | None:
    """Why a quoted sentence is junk, or None.

    - ``caption``: a figure or table caption ("Figure 3. …"), or any sentence of a passage line that is one;
    - ``reference``: a reference string (author list with a colon, "et al:") or a reprint credit, or any
      sentence of a passage line that opens with one;
    - ``glossary``: a sentence, or passage line, of abbreviation definitions only ("X = …; Y = …");
    - ``trials-boilerplate``: the "Current Clinical Trials" text of the PDQ template (any sentence of it);
    - ``leaning``: a sentence that leans on its predecessor (:func:`leans`) but starts a bullet
      (``starts_unit``) or does not follow that predecessor in the article (``previous`` is not the
      sentence just before it in the same passage). A list item's first sentence leans on its lead-in:
      it stands when the sentence before it in the article comes from the same section (the lead-in or
      an item of the same list).

    ``passage_text`` is the text of the sentence's passage when known; without it, positions are compared.
    """
    text = sentence.text.strip()
    location = sentence.source
    # The rest of a caption or a reference ("Published by …", "J Cutan Pathol.") is only known as such by
    # the passage line it sits in.
    line = _line_at(passage_text, location.start) if passage_text is not None else text
    if _CAPTION.match(text) or _CAPTION.match(line):
        return "caption"
    if _REFERENCE_START.match(text) or _ET_AL_COLON.search(text) or _CREDIT.search(text):
        return "reference"
    if _REFERENCE_START.match(line) or _CREDIT_START.match(line):
        return "reference"
    if is_glossary(text) or is_glossary(line):
        return "glossary"
    if _TRIALS_BOILERPLATE.search(line) or any(_TRIALS_SECTION.match(title) for title in location.section_path):
        return "trials-boilerplate"
    if leans(text) and (starts_unit or not _follows(previous, location, passage_text)):
        return None if _under_lead(previous, location, passage_text) else "leaning"
    return None


def _line_at(text: str, offset: int) -> str:
    """The line of ``text`` holding ``offset`` (a table passage holds its caption on the first line)."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)].strip()


def _under_lead(previous: CitedSentence | None, location: SourceLocation, passage_text: str | None) -> bool:
    """Whether the sentence opens a list item (its passage has a lead-in ending with a colon before it) and
    follows a sentence of the same document section."""
    if previous is None or passage_text is None or not passage_text[: location.start].rstrip().endswith(":"):
        return False
    before = previous.source
    return before.document_id == location.document_id and tuple(before.section_path) == tuple(location.section_path)


def _follows(previous: CitedSentence | None, location: SourceLocation, passage_text: str | None) -> bool:
    """Whether ``previous`` is the sentence just before ``location`` in the same passage (same line)."""
    if previous is None or previous.source.passage_id != location.passage_id:
        return False
    gap_start, gap_end = previous.source.end, location.start
    if gap_end < gap_start:
        return False
    if passage_text is not None:
        gap = passage_text[gap_start:gap_end]
        return not gap.strip() and "\n" not in gap
    return gap_end - gap_start <= 2


def unit_starts(article: Article) -> set[int]:
    """Ids of the sentences that start a unit of the article: a bullet, a group's lead, a quoted label section.

    Found structurally (the first sentence of every tuple of sentences in the article's dataclasses), so it
    does not depend on the names of the composer's sections.
    """
    starts: set[int] = set()
    pending: list[Any] = [article]
    while pending:
        value = pending.pop()
        if isinstance(value, CitedSentence):
            continue
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            pending.extend(getattr(value, item.name) for item in dataclasses.fields(value))
        elif isinstance(value, tuple | list):
            if value and all(isinstance(item, CitedSentence) for item in value):
                starts.add(id(value[0]))
            else:
                pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
    return starts


# --- Scoring one article -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JunkSentence:
    """Where a junk sentence was quoted from (no clinical text is kept in results) and why it is junk."""

    reason: str
    document_id: str
    section_path: tuple[str, ...]
    passage_id: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ArticleScore:
    """The figures of one article against its summary.

    Recalls are None when the summary has nothing to recall; ``missing_items`` are ``(line, section)`` of
    the option items not quoted, ``missing_agents`` the generic names of the agents not named.
    """

    file: str
    disease: str
    question: str
    items: int
    items_quoted: int
    agents: int
    agents_named: int
    junk: tuple[JunkSentence, ...]
    guideline_sentences: int
    off_intent: int
    body_words: int
    ask_ms: float
    missing_items: tuple[tuple[int, str], ...] = ()
    missing_agents: tuple[str, ...] = ()
    error: str | None = None

    @property
    def list_recall(self) -> float | None:
        """Quoted option items / option items."""
        return self.items_quoted / self.items if self.items else None

    @property
    def agent_recall(self) -> float | None:
        """Named agents / agents."""
        return self.agents_named / self.agents if self.agents else None

    @property
    def off_intent_share(self) -> float | None:
        """Off-intent guideline sentences / guideline sentences."""
        return self.off_intent / self.guideline_sentences if self.guideline_sentences else None

    def to_json(self) -> dict[str, Any]:
        """The score as plain JSON data."""
        data = dataclasses.asdict(self)
        data["junk_by_reason"] = dict(Counter(item.reason for item in self.junk))
        data.update(
            list_recall=self.list_recall, agent_recall=self.agent_recall, off_intent_share=self.off_intent_share
        )
        return data


def score_article(
    summary: Summary,
    article: Article,
    passages: Mapping[int, str] | None = None,
    ask_ms: float = 0.0,
) -> ArticleScore:
    """Score ``article`` against ``summary``; ``passages`` maps passage ids to their text when known."""
    sentences = list(article_sentences(article))
    quoted = [item for item in summary.items if item_quoted(item, summary.document_id, sentences)]
    missing = [item for item in summary.items if item not in quoted]
    body = body_markdown(article)
    named = [agent for agent in summary.agents if agent_named(agent, body)]
    starts = unit_starts(article)
    junk = []
    previous: CitedSentence | None = None
    for sentence in sentences:
        location = sentence.source
        text = passages.get(location.passage_id) if passages is not None else None
        reason = junk_reason(sentence, previous, id(sentence) in starts, text)
        if reason is not None:
            junk.append(
                JunkSentence(
                    reason,
                    location.document_id,
                    tuple(location.section_path),
                    location.passage_id,
                    location.start,
                    location.end,
                )
            )
        previous = sentence
    guideline_ids = {ref.document_id for ref in article.references if ref.kind == ReferenceKind.GUIDELINE}
    guideline = [sentence for sentence in sentences if sentence.source.document_id in guideline_ids]
    off_intent = sum(1 for sentence in guideline if not is_treatment_path(sentence.source.section_path))
    return ArticleScore(
        file=summary.path.name,
        disease=summary.disease,
        question=summary.question,
        items=len(summary.items),
        items_quoted=len(quoted),
        agents=len(summary.agents),
        agents_named=len(named),
        junk=tuple(junk),
        guideline_sentences=len(guideline),
        off_intent=off_intent,
        body_words=body_words(body),
        ask_ms=ask_ms,
        missing_items=tuple((item.line, " › ".join(item.section_path)) for item in missing),
        missing_agents=tuple(agent.name for agent in summary.agents if agent not in named),
    )


def failed_score(summary: Summary, error: str, ask_ms: float) -> ArticleScore:
    """The score of a summary whose question got no article: nothing recalled."""
    return ArticleScore(
        file=summary.path.name,
        disease=summary.disease,
        question=summary.question,
        items=len(summary.items),
        items_quoted=0,
        agents=len(summary.agents),
        agents_named=0,
        junk=(),
        guideline_sentences=0,
        off_intent=0,
        body_words=0,
        ask_ms=ask_ms,
        missing_items=tuple((item.line, " › ".join(item.section_path)) for item in summary.items),
        missing_agents=tuple(agent.name for agent in summary.agents),
        error=error,
    )


# --- The whole run -----------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (as the benchmark scripts compute it)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True, slots=True)
class Overall:
    """The run's summary row.

    Recalls are means over the summaries that have option items (agents); a failed ask counts as 0.
    ``off_intent_share`` pools every article's guideline sentences. Latency percentiles are warm: the
    first ask of the process (which opens the vocabularies and index) is left out when there are others.
    """

    summaries: int
    failed: int
    list_recall: float | None
    agent_recall: float | None
    junk: int
    off_intent_share: float | None
    median_body_words: float | None
    ask_p50_ms: float | None
    ask_p95_ms: float | None
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))


def overall(scores: Sequence[ArticleScore]) -> Overall:
    """The summary row of a run."""
    list_recalls = [score.list_recall for score in scores if score.list_recall is not None]
    agent_recalls = [score.agent_recall for score in scores if score.agent_recall is not None]
    guideline = sum(score.guideline_sentences for score in scores)
    answered = [score for score in scores if score.error is None]
    timings = [score.ask_ms for score in scores]
    warm = timings[1:] or timings
    return Overall(
        summaries=len(scores),
        failed=len(scores) - len(answered),
        list_recall=statistics.fmean(list_recalls) if list_recalls else None,
        agent_recall=statistics.fmean(agent_recalls) if agent_recalls else None,
        junk=sum(len(score.junk) for score in scores),
        off_intent_share=sum(score.off_intent for score in scores) / guideline if guideline else None,
        median_body_words=statistics.median(score.body_words for score in answered) if answered else None,
        ask_p50_ms=statistics.median(warm) if warm else None,
        ask_p95_ms=_percentile(warm, 0.95) if warm else None,
    )


@dataclass(frozen=True, slots=True)
class ArticleEvaluation:
    """Every summary's score and the summary row."""

    scores: tuple[ArticleScore, ...]
    overall: Overall

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON data (the shape documented in docs/article-quality.md)."""
        return {"overall": dataclasses.asdict(self.overall), "articles": [score.to_json() for score in self.scores]}


def evaluate(
    runtime: Runtime, summaries: Sequence[Summary], on_done: Callable[[ArticleScore], None] | None = None
) -> ArticleEvaluation:
    """Ask every summary's question through the ask service and score the article against the summary."""
    scores = []
    for summary in summaries:
        started = time.perf_counter()
        try:
            article = ask(runtime, summary.question)
        except VademecumError as error:
            score = failed_score(summary, f"{type(error).__name__}: {error}", (time.perf_counter() - started) * 1000)
        else:
            ask_ms = (time.perf_counter() - started) * 1000
            ids = [sentence.source.passage_id for sentence in article_sentences(article)]
            with runtime.session() as session:
                passages = {key: passage.text for key, passage in store.passages_by_id(session, ids).items()}
            score = score_article(summary, article, passages, ask_ms)
        scores.append(score)
        if on_done is not None:
            on_done(score)
    return ArticleEvaluation(tuple(scores), overall(scores))
