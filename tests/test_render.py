"""Markdown, JSON and HTML output of an article cut from real passages of the demo store."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import html as lxml_html

from conftest import REPO_ROOT
from sample_article import (
    DISCLAIMER,
    GENERATED_AT,
    MISSING_LABEL_NOTE,
    Sample,
    build_sample,
    key,
)
from vademecum.answer.article import (
    ARTICLE_SCHEMA_VERSION,
    Article,
    Bullet,
    BulletGroup,
    CitedSentence,
    CorpusSnapshot,
    GuidelineSection,
    LabelSection,
    QuestionSummary,
    Reference,
    ReferenceKind,
    ResearchSection,
    SourceLocation,
)
from vademecum.answer.render import (
    article_json_schema,
    article_json_schema_text,
    from_json,
    to_dict,
    to_html,
    to_html_fragment,
    to_json,
    to_markdown,
)
from vademecum.errors import CitationError
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings

SCHEMA_PATH = REPO_ROOT / "docs" / "article.schema.json"
CITATION = re.compile(r"\[(\d+(?:, \d+)*)\](?!\()")
REFERENCE_LINE = re.compile(r"^(\d+)\. ", re.MULTILINE)


@pytest.fixture(scope="module")
def sample(demo_settings: Settings) -> Iterator[Sample]:
    runtime = open_runtime(demo_settings)
    try:
        with runtime.session() as session:
            yield build_sample(session)
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def markdown(sample) -> str:
    return to_markdown(sample.article)


def split_references(markdown: str) -> tuple[str, str]:
    """(body before ## References, the references part up to the disclaimer)."""
    body, rest = markdown.split("\n## References\n", 1)
    references, _ = rest.split("\n## Professional Disclaimer\n", 1)
    return body, references


def body_citations(body: str) -> list[list[int]]:
    return [[int(n) for n in match.split(", ")] for match in CITATION.findall(body)]


# --- Markdown -------------------------------------------------------------------------------------------


def test_markdown_headings_are_the_stable_form(sample, markdown):
    lines = markdown.splitlines()
    assert lines[0] == f"# {sample.article.title}"
    assert [line for line in lines if line.startswith("## ")] == [
        "## From the Guidelines",
        "## From the FDA Drug Label",
        "## From the Research",
        "## References",
        "## Professional Disclaimer",
    ]
    _, references = split_references(markdown)
    assert [line for line in references.splitlines() if line.startswith("### ")] == [
        "### Guideline",
        "### FDA Drug Label",
        "### NCI Drug Information",
        "### Research",
    ]
    assert lines[2] == "Status: Submitted (pending review) · Last updated: 2025-03-05 · Editorial policy: /policy"
    assert lines[3] == "All articles are reviewed for accuracy by our Medical Advisory Board."
    assert markdown.rstrip().endswith(f"## Professional Disclaimer\n\n{DISCLAIMER}")


def test_every_citation_has_a_reference_line_and_every_reference_is_cited(markdown):
    body, references = split_references(markdown)
    cited = {n for numbers in body_citations(body) for n in numbers}
    listed = [int(n) for n in REFERENCE_LINE.findall(references)]
    assert cited == set(listed) == {1, 2, 3, 4, 5, 6}
    assert len(listed) == len(set(listed))


def test_references_are_grouped_and_listed_in_number_order(markdown):
    _, references = split_references(markdown)
    groups = {
        heading: [int(n) for n in REFERENCE_LINE.findall(text)]
        for heading, text in re.findall(r"^### ([^\n]+)\n(.*?)(?=^### |\Z)", references, re.MULTILINE | re.DOTALL)
    }
    assert groups == {"Guideline": [1, 2], "FDA Drug Label": [3], "NCI Drug Information": [4], "Research": [5, 6]}


def test_bullets_end_with_their_sorted_citations(sample, markdown):
    body, _ = split_references(markdown)
    rows = sample.passages
    bullets = [line for line in body.splitlines() if line.startswith("- ")]
    assert [CITATION.findall(line)[-1] for line in bullets] == ["2", "1", "5", "5, 6"]
    assert all(line.endswith("]") for line in bullets)
    # The study with square brackets in its text: escaped, so its brackets are not citations.
    study_b = rows["study_b"].text
    assert "[" in study_b
    assert bullets[-1].startswith("- " + study_b[: study_b.index("[")] + "\\[")
    dose_lines = [line for line in body.splitlines() if line.startswith("  - ")]
    dose_amount = re.search(r"\d+ mg", rows["humira_2_1"].text)[0]
    assert dose_lines == [f"  - Dose {dose_amount}: matches the FDA label [3]"]


def test_label_sections_are_quoted_with_number_and_title(sample, markdown):
    rows = sample.passages
    lines = markdown.splitlines()
    heading = f"**1.1 {rows['humira_1_1'].section_path[-1]}**"
    at = lines.index(heading)
    first = rows["humira_1_1"].text
    assert lines[at + 2] == f"> {first[: first.index('. ') + 1]} [3]"
    assert f"**2.1 {rows['humira_2_1'].section_path[-1]}**" in lines
    # The table's rows stay inside the quote, one per line; "<" is escaped for Markdown.
    table_rows = rows["humira_table"].text.split("\n")
    at = lines.index(f"**2.2 {rows['humira_table'].section_path[-1]}**")
    quoted = lines[at + 2 : at + 2 + len(table_rows)]
    assert [line.removeprefix("> ").replace("\\<", "<") for line in quoted[:-1]] == table_rows[:-1]
    assert quoted[-1] == "> " + table_rows[-1].replace("<", "\\<") + " [3]"
    assert f"_{MISSING_LABEL_NOTE}_" in lines
    assert f"NCI drug information: {rows['lanreotide'].text} [4]" in lines


def test_reference_lines_link_their_identifiers(markdown):
    _, references = split_references(markdown)
    lines = {int(line.split(".", 1)[0]): line for line in references.splitlines() if REFERENCE_LINE.match(line)}
    assert lines[1].startswith(
        "1. Gastrointestinal Neuroendocrine Tumors Treatment (PDQ®)–Health Professional Version. "
        "National Cancer Institute (PDQ), 2025. [PMID 26389233](https://pubmed.ncbi.nlm.nih.gov/26389233/); "
        "[cancer.gov](https://www.cancer.gov/types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq). "
        "Cites: [PMID 12771556](https://pubmed.ncbi.nlm.nih.gov/12771556/), "
    )
    assert lines[3] == (
        "3. HUMIRA (adalimumab) injection, for subcutaneous use. AbbVie Inc., 2013. "
        "[DailyMed set id 608d4f0d-b19f-46d3-749a-7159aa5f933d]"
        "(https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=608d4f0d-b19f-46d3-749a-7159aa5f933d)."
    )
    assert lines[4] == (
        "4. Lanreotide Acetate. National Cancer Institute. "
        "[cancer.gov](https://www.cancer.gov/about-cancer/treatment/drugs/lanreotideacetate)."
    )
    # A title ending in a full stop gets no second one; the PubMed URL is not repeated beside the PMID.
    assert lines[5] == (
        "5. Clusters of alcohol use disorders diagnostic criteria and predictors of alcohol use after liver "
        "transplantation for alcoholic liver disease. Psychosomatics, 2008. "
        "[PMID 18621939](https://pubmed.ncbi.nlm.nih.gov/18621939/); "
        "[DOI 10.1176/appi.psy.49.4.332](https://doi.org/10.1176/appi.psy.49.4.332)."
    )


def test_empty_sections_print_their_notes(sample):
    notes = ("No guideline matched.", "No label matched.", "No study matched.")
    empty = dataclasses.replace(
        sample.article,
        guidelines=GuidelineSection("", (), (), "Treatment options", (), empty_note=notes[0]),
        labels=LabelSection((), empty_note=notes[1]),
        research=ResearchSection((), empty_note=notes[2]),
        references=(),
        citation_numbers={},
        sufficient=False,
        searched=("guidelines", "drug labels", "research"),
    )
    markdown = to_markdown(empty)
    for heading, note in zip(("Guidelines", "FDA Drug Label", "Research"), notes, strict=True):
        assert f"## From the {heading}\n\n_{note}_\n" in markdown
    assert "## References\n\nNo references.\n" in markdown
    assert "Sources searched: guidelines, drug labels, research." in markdown
    assert CITATION.findall(markdown) == []


def test_a_key_without_a_number_is_refused(sample):
    numbers = dict(sample.article.citation_numbers)
    del numbers[key(sample.passages["pediatric"])]
    broken = dataclasses.replace(sample.article, citation_numbers=numbers)
    with pytest.raises(CitationError, match=key(sample.passages["pediatric"])):
        to_markdown(broken)
    with pytest.raises(CitationError):
        to_html(broken)


# Source text mixed with the Markdown a source might happen to contain.
MARKUP = st.sampled_from(
    ["[1]", "[2, 3]", "[4](x)", "\\[5]", "# ", "### ", "1. ", "- ", "> ", "\n", "*", "_", "`", "<b>"]
)
SOURCE_TEXT = st.lists(st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=10), MARKUP)).map(
    "".join
)


@given(SOURCE_TEXT)
@example("\x85#")  # a next-line control character before "#" once made a heading
@example("a\u2028   ### b")
def test_source_text_never_adds_or_hides_a_citation(text):
    sentence = CitedSentence(text, SourceLocation(7, "pmid:1", (), 0, len(text)))
    article = _minimal_article(ResearchSection((BulletGroup("Studies", (Bullet((sentence,)),)),)))
    body, _ = split_references(to_markdown(article))
    section = body.split("## From the Research\n", 1)[1]
    assert body_citations(section) == [[1]]
    assert [line for line in section.splitlines() if line.startswith("#")] == ["### Studies"]


def _minimal_article(research: ResearchSection) -> Article:
    """An article whose only sentence is ``research``'s, cited as reference 1 (no store needed)."""
    return Article(
        question=QuestionSummary("q", "management", (), ()),
        title="q",
        generated_at=GENERATED_AT,
        engine_version="0",
        corpus=CorpusSnapshot(None, 0, 0),
        guidelines=GuidelineSection("", (), (), "Treatment options", ()),
        labels=LabelSection(()),
        research=research,
        references=(Reference(1, ReferenceKind.RESEARCH, "pmid:1", "t", None, None, "unclassified", keys=("ev-7",)),),
        citation_numbers={"ev-7": 1},
        disclaimer="d",
    )


# --- JSON -----------------------------------------------------------------------------------------------


def test_json_is_versioned_and_validates_against_the_checked_in_schema(sample):
    data = json.loads(to_json(sample.article))
    assert next(iter(data)) == "schema_version"
    assert data["schema_version"] == ARTICLE_SCHEMA_VERSION == "1.4"
    assert data["generated_at"] == "2025-03-05T12:00:00Z"
    assert data["references"][2]["kind"] == "drug_label"
    assert data["citation_numbers"][key(sample.passages["study_b"])] == 6
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data == to_dict(sample.article)


def test_schema_rejects_what_the_model_would_not_write(sample):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    data = to_dict(sample.article)
    for broken in (
        {**data, "schema_version": "0.9"},
        {**data, "citation_numbers": {"pmid:1": 1}},
        {**data, "references": [{**data["references"][0], "kind": "blog"}]},
        {k: v for k, v in data.items() if k != "corpus"},
    ):
        assert not validator.is_valid(broken)


def test_json_reads_back_into_the_same_article(sample):
    assert from_json(to_json(sample.article)) == sample.article


def test_checked_in_schema_is_the_generated_one():
    assert SCHEMA_PATH.read_text() == article_json_schema_text(), (
        "docs/article.schema.json is stale: regenerate it as docs/article-schema.md says"
    )


def test_schema_doc_explains_every_field():
    doc = (REPO_ROOT / "docs" / "article-schema.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.MULTILINE))
    schema = article_json_schema()
    fields = set(schema["properties"])
    for definition in schema["$defs"].values():
        fields |= set(definition.get("properties", {}))
    assert fields == documented


# --- HTML -----------------------------------------------------------------------------------------------


def test_html_citations_link_to_references_and_carry_their_keys(sample):
    article = sample.article
    tree = lxml_html.fromstring(to_html(article))
    anchors = tree.xpath("//sup[@class='cite']/a")
    assert anchors
    reference_ids = {li.get("id") for li in tree.xpath("//li[starts-with(@id, 'ref-')]")}
    assert reference_ids == {f"ref-{n}" for n in range(1, 7)}
    cited = set()
    for anchor in anchors:
        number = int(anchor.text)
        assert anchor.get("href") == f"#ref-{number}"
        keys = anchor.get("data-key").split(" ")
        assert all(article.citation_numbers[k] == number for k in keys)
        cited.add(number)
    assert cited == set(range(1, 7))
    # The second research bullet: numbers sorted, each with the passage it stands for.
    last_bullet = tree.xpath("//section[@class='research']//li")[-1]
    marks = [(a.text, a.get("data-key")) for a in last_bullet.xpath(".//sup[@class='cite']/a")]
    assert marks == [("5", key(sample.passages["study_a_more"])), ("6", key(sample.passages["study_b"]))]


def test_html_escapes_source_text(sample):
    table = sample.passages["humira_table"]
    assert "<" in table.text
    page = to_html(sample.article)
    tree = lxml_html.fromstring(page)
    spans = tree.xpath(f"//span[@class='sentence'][@data-key='{key(table)}']")
    assert [span.text_content() for span in spans] == [table.text]
    assert [span.get("data-end") for span in spans] == [str(len(table.text))]
    lt_line = next(line for line in table.text.split("\n") if "<" in line)
    assert lt_line not in page
    assert lt_line.replace("<", "&lt;") in page
    hostile = dataclasses.replace(sample.article, title="<script>alert(1)</script>")
    assert "<script>" not in to_html(hostile)


def test_html_shows_review_status_policy_and_date(sample):
    fragment = to_html_fragment(sample.article)
    assert fragment.startswith("<article")
    tree = lxml_html.fromstring(fragment)
    steps = tree.xpath("//ol[@class='stepper']/li")
    assert [li.text for li in steps] == ["Submitted", "Under Review", "Approved"]
    assert [li.get("aria-current") for li in steps] == ["step", None, None]
    assert tree.xpath("//p[@class='pending-note']")[0].text == "Pending review by the Medical Advisory Board."
    assert tree.xpath("//a[text()='View editorial policy']")[0].get("href") == "/policy"
    assert tree.xpath("//time")[0].get("datetime") == "2025-03-05"
    assert tree.xpath("//time")[0].text == "March 5, 2025"
    assert "All articles are reviewed for accuracy by our Medical Advisory Board" in fragment
    quotes = tree.xpath("//h4[@class='label-section']")
    assert [h.text_content() for h in quotes] == [
        f"{row.section_number} {row.section_path[-1]}"
        for row in (sample.passages[r] for r in ("humira_1_1", "humira_2_1", "humira_table"))
    ]
