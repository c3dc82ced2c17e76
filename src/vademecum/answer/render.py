"""Render an article as Markdown, JSON or HTML.

- :func:`to_markdown` prints the stable Markdown form tools read (documented in docs/article-schema.md):
  ``# `` the title; ``## From the Guidelines``, ``## From the FDA Drug Label``, ``## From the Research``,
  ``## References``, ``## Professional Disclaimer``; citations as bracketed numbers at the end of each
  bullet or quote (``[1]``, ``[2, 5]``: sorted, each number once); references as numbered lines
  ``N. Title. Journal or issuer, year. identifiers`` (then ``Licence: …`` for open-access sources) under
  ``### Guideline``, ``### FDA Drug Label``, ``### NCI Drug Information`` and ``### Research`` (groups
  without references are left out).
  Source text is backslash-escaped where Markdown would read it as markup, so a bracket in a source
  can never pass for a citation.
  An article with a language-model summary (schema 1.4) has ``## Summary`` before the guidelines: its
  label in italics, then each verified sentence followed by its own citations.
- :func:`to_dict` / :func:`to_json` give the versioned JSON (``schema_version`` first);
  :func:`article_json_schema` is the JSON Schema that docs/article.schema.json holds, generated from
  the article model; :func:`from_json` reads the JSON back into an :class:`Article`.
- :func:`to_html` is a standalone page, :func:`to_html_fragment` the ``<article>`` element alone
  (for the web app's own layout). Jinja2 autoescapes everything: source text is never markup.
  Each citation number links to ``#ref-N`` and carries ``data-key`` with the evidence keys
  (``ev-{passage_id}``, space-separated) it stands for; each sentence carries its passage and offsets.

Rendering refuses an inconsistent article: a cited key without a number raises CitationError.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import TypeAdapter

from vademecum.answer.article import (
    ARTICLE_SCHEMA_VERSION,
    EVIDENCE_KEY_TEMPLATE,
    Article,
    Bullet,
    BulletGroup,
    CitedSentence,
    Dose,
    DrugLabelBlock,
    LabelBasis,
    LabelCheck,
    Reference,
    ReferenceKind,
)
from vademecum.answer.citations import passage_id_of
from vademecum.errors import CitationError

SUMMARY_HEADING = "Summary"
SECTION_HEADINGS = {
    "guidelines": "From the Guidelines",
    "labels": "From the FDA Drug Label",
    "research": "From the Research",
    "references": "References",
    "disclaimer": "Professional Disclaimer",
}
KEY_CONSIDERATIONS_HEADING = "Key considerations"
BOTTOM_LINE_HEADING = "Bottom line"
SETTINGS_HEADING = "Options by setting"
AGENTS_HEADING = "Agents named in the guideline"
LABEL_LINK_TEXT = "FDA label below"
LABEL_BASIS_TEXT = {
    LabelBasis.QUESTION: "the question names this drug",
    LabelBasis.GUIDELINE: "the guideline names this drug",
    LabelBasis.INDICATION: "its indications name the question's condition",
}
# The order reference groups are listed in: NCI drug information sits with the label section it
# appears in, so the numbers of consecutive groups stay close to reading order.
REFERENCE_HEADINGS = {
    ReferenceKind.GUIDELINE: "Guideline",
    ReferenceKind.DRUG_LABEL: "FDA Drug Label",
    ReferenceKind.DRUG_INFORMATION: "NCI Drug Information",
    ReferenceKind.RESEARCH: "Research",
}
REVIEW_STEPS = ("Submitted", "Under Review", "Approved")
# An article from `ask` has not been reviewed yet; the web app passes the workflow's state (ReviewStatus).
CURRENT_STEP = "Submitted"
PENDING_NOTE = "Pending review by the Medical Advisory Board."
NOT_APPROVED_TEXT = "not yet approved"
REVIEW_LINE = "All articles are reviewed for accuracy by our Medical Advisory Board"
POLICY_URL = "/policy"
DRUG_INFORMATION_LABEL = "NCI drug information"
INSUFFICIENT_NOTE = "Insufficient evidence in the indexed sources to answer this question."

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
DOI_URL = "https://doi.org/{doi}"
DAILYMED_URL = "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}"


@dataclass(frozen=True, slots=True)
class Link:
    """An identifier of a reference and the web address it opens."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Citation:
    """One citation number, and the evidence keys of the passage(s) behind it at this place."""

    number: int
    keys: tuple[str, ...]


def citations(keys: Iterable[str], numbers: dict[str, int]) -> tuple[Citation, ...]:
    """The citation numbers of ``keys``, sorted, each once, with the keys each stands for."""
    by_number: dict[int, list[str]] = {}
    for key in dict.fromkeys(keys):
        if key not in numbers:
            raise CitationError(f"{key} is cited but has no citation number")
        by_number.setdefault(numbers[key], []).append(key)
    return tuple(Citation(number, tuple(by_number[number])) for number in sorted(by_number))


def _web_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) address; anything else must never become a link."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def reference_links(reference: Reference) -> tuple[Link, ...]:
    """Links for a reference's identifiers: PubMed, DOI, DailyMed set id, and its own page (e.g. cancer.gov)."""
    links: list[Link] = []
    if reference.pmid:
        links.append(Link(f"PMID {reference.pmid}", PUBMED_URL.format(pmid=reference.pmid)))
    if reference.doi:
        links.append(Link(f"DOI {reference.doi}", DOI_URL.format(doi=quote(reference.doi, safe="/"))))
    url = _web_url(reference.url)
    if reference.set_id:
        dailymed = url if url and "dailymed.nlm.nih.gov" in url else DAILYMED_URL.format(set_id=quote(reference.set_id))
        links.append(Link(f"DailyMed set id {reference.set_id}", dailymed))
    if url and all(link.url != url for link in links) and "pubmed.ncbi.nlm.nih.gov" not in url:
        host = urlsplit(url).hostname or url
        links.append(Link(host.removeprefix("www."), url))
    return tuple(links)


def licence_link(reference: Reference) -> Link | None:
    """The reference's licence ("CC BY 4.0") with its address when that is a web address; None when it states none."""
    if not reference.licence:
        return None
    return Link(reference.licence, _web_url(reference.licence_url) or "")


def cited_study_links(reference: Reference) -> tuple[Link, ...]:
    """PubMed links of the studies the cited passages themselves cite (one level deeper)."""
    return tuple(Link(f"PMID {pmid}", PUBMED_URL.format(pmid=pmid)) for pmid in reference.cited_pmids)


def reference_groups(article: Article) -> list[tuple[str, tuple[Reference, ...]]]:
    """The non-empty reference groups with their headings, each listing its references in number order."""
    groups = []
    for kind in REFERENCE_HEADINGS:
        members = tuple(sorted((r for r in article.references if r.kind == kind), key=lambda r: r.number))
        if members:
            groups.append((REFERENCE_HEADINGS[kind], members))
    return groups


def dose_notes(bullet: Bullet) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What to print beside the bullet's doses: ``(text, label keys to cite)`` per dose compared with a label.

    The text is the program's (no clinical claim of its own) around dose text taken from the sources;
    a dose with no label in the corpus gets no note.
    """
    notes = []
    for note in bullet.doses:
        keys = (note.label_key,) if note.label_key else ()
        where = ", ".join(
            part for part in (note.label_section, note.label_date and f"label of {note.label_date.isoformat()}") if part
        )
        label_name = f"the FDA label ({where})" if where else "the FDA label"
        if note.check is LabelCheck.MATCHES_LABEL:
            notes.append((f"Dose {_dose_text(note.dose)}: matches {label_name}", keys))
        elif note.check is LabelCheck.DIFFERS_FROM_LABEL:
            label = "; ".join(_dose_text(dose) for dose in note.label_doses) or "a different dose"
            stated = f" (source dated {note.source_date.isoformat()})" if note.source_date else ""
            text = f"Dose {_dose_text(note.dose)}{stated}: differs from {label_name}, which states {label}"
            notes.append((text, keys))
    return tuple(notes)


def label_line(block: DrugLabelBlock) -> str | None:
    """The line under a drug's label heading: which label (brand, date) and why it is quoted; None for a
    drug without a label here. Connecting text only."""
    if block.document_id is None or block.basis is None:
        return None
    which = " ".join(part for part in (block.brand, "label") if part)
    if block.label_date:
        which += f" of {block.label_date.isoformat()}"
    return f"{which}; {LABEL_BASIS_TEXT[block.basis]}."


def label_url(block: DrugLabelBlock) -> str | None:
    """The label's page on DailyMed, by its set id."""
    return DAILYMED_URL.format(set_id=quote(block.set_id)) if block.set_id else None


def _dose_text(dose: Dose) -> str:
    if not dose.text:
        return " ".join(part for part in (dose.amount, dose.unit, dose.route, dose.frequency) if part)
    # The frequency may stand apart from the amount in the source ("800 mg … over 60 minutes every 2 weeks").
    if dose.frequency and dose.frequency.casefold() not in dose.text.casefold():
        return f"{dose.text} ({dose.frequency})"
    return dose.text


def review_line(article: Article) -> str:
    """Status, date and policy, in one line of plain text."""
    return (
        f"Status: {CURRENT_STEP} (pending review) · "
        f"Last updated: {article.generated_at.date().isoformat()} · Editorial policy: {POLICY_URL}"
    )


def provenance_line(article: Article) -> str:
    """The engine version and corpus snapshot an article was built from."""
    corpus = article.corpus
    run = f", ingest run {corpus.last_ingest_run}" if corpus.last_ingest_run is not None else ""
    return (
        f"Built by Vademecum {article.engine_version} from {corpus.documents} documents and "
        f"{corpus.indexed_passages} indexed passages{run}."
    )


# --- Markdown -------------------------------------------------------------------------------------------

# After a sentence an editor rewrote. Source text escapes "_", so no source can print this mark.
MD_EDITED_MARK = "_(edited)_"
_MD_INLINE = re.compile(r"([\\`*_\[\]<])|&(?=#?\w+;)")
_MD_LINE_START = re.compile(r"^([#>+=|-]|\d+(?=[.)](?:\s|$)))")


def _escape_line_start(match: re.Match[str]) -> str:
    marker = match.group(0)
    # "1. " becomes "1\. ": a backslash before the digit would be printed, not read as an escape.
    return marker + "\\" if marker[0].isdigit() else "\\" + marker


def md_text(text: str, indent: str = "") -> str:
    """``text`` escaped for Markdown; its line breaks continue the current block, indented by ``indent``."""
    lines = []
    # splitlines, not split("\n"): a source's \r, \x85 or \u2028 is a line break to Markdown readers too.
    # Leading blanks are dropped because up to three spaces before "#" still make a heading.
    for line in text.splitlines() or [""]:
        escaped = _MD_INLINE.sub(lambda m: "\\" + m.group(0), line.lstrip())
        # A line that starts like a heading, quote or list item would change the document's structure.
        lines.append(_MD_LINE_START.sub(_escape_line_start, escaped))
    return ("\n" + indent).join(lines)


def md_line(text: str) -> str:
    """Metadata (a title, a heading) escaped for Markdown on one line: its line breaks become spaces."""
    return md_text(" ".join(text.split()))


def md_citations(keys: Iterable[str], numbers: dict[str, int]) -> str:
    """``[1, 3]`` for the keys' citation numbers (empty when there are none)."""
    found = citations(keys, numbers)
    return f"[{', '.join(str(c.number) for c in found)}]" if found else ""


def sentence_keys(sentences: Iterable[CitedSentence]) -> tuple[str, ...]:
    """The citation keys of several sentences, in order, each once."""
    return tuple(dict.fromkeys(key for sentence in sentences for key in sentence.keys))


def md_sentence(sentence: CitedSentence, indent: str = "") -> str:
    """One sentence escaped for Markdown, followed by :data:`MD_EDITED_MARK` when an editor rewrote it."""
    text = md_text(sentence.text, indent)
    return f"{text} {MD_EDITED_MARK}" if sentence.edited else text


def _md_sentences(sentences: Iterable[CitedSentence], numbers: dict[str, int], indent: str) -> str:
    sentences = tuple(sentences)
    body = " ".join(md_sentence(sentence, indent) for sentence in sentences)
    cite = md_citations(sentence_keys(sentences), numbers)
    return f"{body} {cite}".rstrip()


def levels_text(bullet: Bullet) -> str:
    """The source's levels of evidence for a list item, as connecting text ("" when it gives none)."""
    if not bullet.levels:
        return ""
    return f"(Level of evidence: {', '.join(bullet.levels)})"


def study_text(bullet: Bullet) -> str:
    """What a research bullet's study is, as connecting text: "(2019; 412 patients; quoted from
    Conclusions)"; "" for other bullets. The design is the heading the bullet stands under."""
    study = bullet.study
    if study is None:
        return ""
    section = study.section.capitalize() if study.section and study.section.isupper() else study.section
    parts = [str(study.year) if study.year else "", study.size or "", f"quoted from {section}" if section else ""]
    text = "; ".join(part for part in parts if part)
    return f"({text})" if text else ""


def _md_bullet(bullet: Bullet, numbers: dict[str, int]) -> list[str]:
    indent = "   " * bullet.depth
    marker = f"{bullet.number}." if bullet.number is not None else "-"
    inner = indent + " " * (len(marker) + 1)
    parts = (_md_sentences(bullet.sentences, numbers, inner), levels_text(bullet), md_text(study_text(bullet)))
    text = " ".join(part for part in parts if part)
    lines = [f"{indent}{marker} {text}"]
    for note, keys in dose_notes(bullet):
        lines.append(f"{inner}- {md_text(note, inner + '  ')} {md_citations(keys, numbers)}".rstrip())
    return lines


def _md_bullets_under(heading: str, bullets: Iterable[Bullet], numbers: dict[str, int]) -> list[str]:
    lines = [line for bullet in bullets for line in _md_bullet(bullet, numbers)]
    return [f"### {heading}", "", *lines, ""] if lines else []


def label_anchor(drug: str) -> str:
    """The HTML id of a drug's block in *From the FDA Drug Label*."""
    return "label-" + re.sub(r"[^a-z0-9]+", "-", drug.casefold()).strip("-")


def labelled_drugs(article: Article) -> frozenset[str]:
    """The drugs (case-folded) whose FDA label the article quotes."""
    return frozenset(block.drug.casefold() for block in article.labels.blocks if block.quotes)


def _md_groups(
    groups: Iterable[BulletGroup], numbers: dict[str, int], level: str, labelled: frozenset[str] = frozenset()
) -> list[str]:
    lines: list[str] = []
    for group in groups:
        lines += [f"{level} {md_line(group.heading)}", "", *_md_note(group.note)]
        if group.lead:
            lines += [_md_sentences(group.lead, numbers, ""), ""]
        for bullet in group.bullets:
            lines += _md_bullet(bullet, numbers)
        if group.drug and group.drug.casefold() in labelled:
            lines.append(f"- See the {LABEL_LINK_TEXT}: {md_line(group.drug)}.")
        lines.append("")
    return lines


def _md_note(note: str | None) -> list[str]:
    return [f"_{md_line(note)}_", ""] if note else []


def to_markdown(article: Article) -> str:
    """The article in the stable Markdown form (see the module docstring and docs/article-schema.md)."""
    numbers = article.citation_numbers
    lines = [f"# {md_line(article.title)}", "", review_line(article), f"{REVIEW_LINE}.", provenance_line(article), ""]
    if not article.sufficient:
        lines += [f"**{INSUFFICIENT_NOTE}**"]
        if article.searched:
            lines.append(f"Sources searched: {md_line(', '.join(article.searched))}.")
        lines.append("")

    lines += _md_summary(article, numbers)
    guidelines = article.guidelines
    labelled = labelled_drugs(article)
    lines += [f"## {SECTION_HEADINGS['guidelines']}", "", *_md_note(guidelines.empty_note)]
    lines += _md_bullets_under(BOTTOM_LINE_HEADING, guidelines.bottom_line, numbers)
    if guidelines.lead:
        lines += [f"{md_line(guidelines.lead)} {md_citations(guidelines.guideline_keys, numbers)}".rstrip(), ""]
    lines += _md_bullets_under(KEY_CONSIDERATIONS_HEADING, guidelines.key_considerations, numbers)
    for heading, groups in (
        (SETTINGS_HEADING, guidelines.settings),
        (AGENTS_HEADING, guidelines.agents),
        (guidelines.groups_heading, guidelines.groups),
    ):
        if groups:
            lines += [f"### {md_line(heading)}", "", *_md_groups(groups, numbers, "####", labelled)]

    lines += [f"## {SECTION_HEADINGS['labels']}", "", *_md_note(article.labels.empty_note)]
    for block in article.labels.blocks:
        lines += [f"### {md_line(block.drug)}", "", *_md_note(block.missing_label_note)]
        line = label_line(block)
        if line is not None:
            url = label_url(block)
            lines += [md_text(line) + (f" [DailyMed]({url})" if url else ""), ""]
        for section in block.quotes:
            heading = " ".join(part for part in (section.number, section.title) if part)
            lines += [f"**{md_line(heading)}**", "", f"> {_md_sentences(section.sentences, numbers, '> ')}", ""]
        lines += _md_note(block.no_dose_note)
        if block.summary:
            lines += [_md_sentences(block.summary, numbers, ""), ""]
        if block.drug_information:
            text = _md_sentences(block.drug_information, numbers, "")
            lines += [f"{DRUG_INFORMATION_LABEL}: {text}", ""]

    lines += [f"## {SECTION_HEADINGS['research']}", "", *_md_note(article.research.empty_note)]
    lines += _md_groups(article.research.groups, numbers, "###")

    lines += [f"## {SECTION_HEADINGS['references']}", ""]
    if not article.references:
        lines += ["No references.", ""]
    for heading, references in reference_groups(article):
        lines += [f"### {heading}", "", *(md_reference(reference) for reference in references), ""]

    lines += [f"## {SECTION_HEADINGS['disclaimer']}", "", md_text(article.disclaimer), ""]
    return "\n".join(lines)


def _md_summary(article: Article, numbers: dict[str, int]) -> list[str]:
    """``## Summary``, its label in italics, then each verified sentence with its own citations."""
    summary = article.summary
    if summary is None or not summary.sentences:
        return []
    text = " ".join(_md_sentences((sentence,), numbers, "") for sentence in summary.sentences)
    return [f"## {SUMMARY_HEADING}", "", f"_{md_line(summary.label)}_", "", text, ""]


def md_reference(reference: Reference) -> str:
    """``N. Title. Journal or issuer, year. identifiers. Licence: …`` as one Markdown line."""
    title = md_line(reference.title)
    parts = [f"{reference.number}. {title}" + ("" if title.endswith((".", "?", "!")) else ".")]
    source = ", ".join(part for part in (reference.issuer, str(reference.year) if reference.year else None) if part)
    if source:
        parts.append(f"{md_line(source)}.")
    links = "; ".join(_md_link(link) for link in reference_links(reference))
    if links:
        parts.append(f"{links}.")
    if licence := licence_link(reference):
        parts.append(f"Licence: {_md_link(licence) if licence.url else md_line(licence.label)}.")
    cited = ", ".join(_md_link(link) for link in cited_study_links(reference))
    if cited:
        parts.append(f"Cites: {cited}.")
    return " ".join(parts)


def _md_link(link: Link) -> str:
    # Spaces and parentheses would end a Markdown link destination early.
    url = link.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{md_line(link.label)}]({url})"


# --- JSON -----------------------------------------------------------------------------------------------

_ADAPTER = TypeAdapter(Article)
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KEY_PATTERN = "^" + EVIDENCE_KEY_TEMPLATE.format(passage_id=r"[0-9]+") + "$"


def to_dict(article: Article) -> dict[str, Any]:
    """The article as JSON-ready data: ``schema_version`` first, dates in ISO 8601, enums as their values."""
    data = _ADAPTER.dump_python(article, mode="json")
    return {"schema_version": data.pop("schema_version"), **data}


def to_json(article: Article) -> str:
    """The article as JSON text (UTF-8 characters kept, indented for people and diffs)."""
    return json.dumps(to_dict(article), ensure_ascii=False, indent=2) + "\n"


def from_json(text: str | bytes) -> Article:
    """Read an article back from :func:`to_json` output (validated against the model)."""
    return _ADAPTER.validate_json(text)


def article_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`to_json` output, generated from the article model."""
    schema = _ADAPTER.json_schema(mode="serialization")
    # Output is described, not input: every field is always written, so every field is required.
    for definition in (schema, *schema["$defs"].values()):
        if "properties" in definition:
            definition["required"] = list(definition["properties"])
    schema["properties"]["schema_version"]["const"] = ARTICLE_SCHEMA_VERSION
    schema["properties"]["citation_numbers"]["propertyNames"] = {"pattern": KEY_PATTERN}
    schema["title"] = f"Vademecum article, schema version {ARTICLE_SCHEMA_VERSION}"
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def article_json_schema_text() -> str:
    """:func:`article_json_schema` as the text of docs/article.schema.json."""
    return json.dumps(article_json_schema(), ensure_ascii=False, indent=2) + "\n"


# --- HTML -----------------------------------------------------------------------------------------------

_ENVIRONMENT = Environment(
    loader=PackageLoader("vademecum.answer", "templates"),
    autoescape=True,  # source text must never become markup
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _long_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


@dataclass(frozen=True, slots=True)
class ReviewStatus:
    """What an article's header says about its review: badge, stepper, pending note and "Last updated".

    ``label`` is the badge text (a review state's display label, e.g. "Changes Requested"); ``step`` is the
    stepper step marked current (one of :data:`REVIEW_STEPS`); ``last_updated`` is the date of the current
    approved version (None: "not yet approved"); ``pending`` shows the pending-review banner.
    """

    label: str
    step: str
    last_updated: dt.date | None
    pending: bool


def standalone_review_status(article: Article) -> ReviewStatus:
    """The header of an article straight from ``ask`` (CLI, export): submitted, dated when it was generated."""
    return ReviewStatus(label=CURRENT_STEP, step=CURRENT_STEP, last_updated=article.generated_at.date(), pending=True)


def _context(article: Article, review: ReviewStatus | None = None) -> dict[str, Any]:
    numbers = article.citation_numbers
    review = review or standalone_review_status(article)
    if review.step not in REVIEW_STEPS:
        raise ValueError(f"unknown review step {review.step!r}; expected one of {', '.join(REVIEW_STEPS)}")

    def cite(keys: Iterable[str]) -> tuple[Citation, ...]:
        return citations(keys, numbers)

    return {
        "article": article,
        "headings": SECTION_HEADINGS,
        "summary_heading": SUMMARY_HEADING,
        "key_considerations_heading": KEY_CONSIDERATIONS_HEADING,
        "bottom_line_heading": BOTTOM_LINE_HEADING,
        "settings_heading": SETTINGS_HEADING,
        "agents_heading": AGENTS_HEADING,
        "label_link_text": LABEL_LINK_TEXT,
        "labelled": labelled_drugs(article),
        "label_anchor": label_anchor,
        "levels_text": levels_text,
        "steps": REVIEW_STEPS,
        "current_step": review.step,
        "status_label": review.label,
        "pending_note": PENDING_NOTE if review.pending else None,
        "passage_of": lambda key: passage_id_of(key) or "",
        "review_line": REVIEW_LINE,
        "policy_url": POLICY_URL,
        "provenance": provenance_line(article),
        "insufficient_note": INSUFFICIENT_NOTE,
        "drug_information_label": DRUG_INFORMATION_LABEL,
        "reference_groups": reference_groups(article),
        "cite": cite,
        "reference_links": reference_links,
        "licence_link": licence_link,
        "cited_study_links": cited_study_links,
        "dose_notes": dose_notes,
        "label_line": label_line,
        "study_text": study_text,
        "label_url": label_url,
        "keys_of": sentence_keys,
        "last_updated": review.last_updated,
        "last_updated_text": _long_date(review.last_updated) if review.last_updated else NOT_APPROVED_TEXT,
    }


def to_html_fragment(article: Article, review: ReviewStatus | None = None) -> str:
    """The article as one ``<article>`` element, for embedding in the web app's pages.

    ``review`` is the stored version's review status; by default the article is shown as just generated.
    """
    return _ENVIRONMENT.get_template("_article.html").render(_context(article, review))


def to_html(article: Article) -> str:
    """The article as a standalone HTML page."""
    return _ENVIRONMENT.get_template("article.html").render(_context(article))
