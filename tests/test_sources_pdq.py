"""The PDQ reader on the real NCI PDQ summaries of the demo corpus."""

from __future__ import annotations

import datetime as dt
import doctest
import io
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vademecum.errors import ReaderError
from vademecum.records import Audience, DocumentKind, SourceDocument
from vademecum.sources import markdown, nci_drug, pdq, protocol

GI = "types-gi-neuroendocrine-tumors-hp-gi-neuroendocrine-treatment-pdq.md"


@pytest.fixture(scope="module")
def pdq_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "guidelines" / "nci-pdq"


@pytest.fixture(scope="module")
def parsed(pdq_dir: Path) -> dict[str, list[SourceDocument]]:
    """Every PDQ file of the corpus, parsed once: file name -> records."""
    results = {}
    for path in sorted(pdq_dir.glob("*.md")):
        with path.open("rb") as handle:
            results[path.name] = list(pdq.parse(handle, path.name))
    return results


@pytest.fixture(scope="module")
def gi(parsed: dict[str, list[SourceDocument]]) -> SourceDocument:
    (document,) = parsed[GI]
    return document


def cited(document: SourceDocument) -> dict[str, object]:
    return {work.label: work for work in document.cited_works}


def test_gi_summary_metadata(gi: SourceDocument) -> None:
    assert gi.doc_id == "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
    assert gi.title == "Gastrointestinal Neuroendocrine Tumors Treatment (PDQ®)–Health Professional Version"
    assert gi.kind is DocumentKind.GUIDELINE
    assert gi.reader == "pdq"
    assert gi.url == "https://www.cancer.gov/types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
    # The YAML header says audienceLevel: patient; the URL and title say otherwise.
    assert gi.audience is Audience.HEALTH_PROFESSIONAL
    assert gi.date == dt.date(2025, 5, 9)
    assert gi.version == "2025-05-09"
    assert gi.year == 2025
    assert gi.issuer == "National Cancer Institute (PDQ)"
    assert gi.pmid == "26389233"  # the summary's own PMID, from its preferred citation
    assert gi.language == "en"
    assert gi.extra == {"editorial_board": "PDQ Adult Treatment Editorial Board"}


def test_gi_section_tree_numbers_top_sections_and_leaves_out_boilerplate(gi: SourceDocument) -> None:
    titles = [section.title for section in gi.sections]
    assert len(titles) == 12
    assert [section.number for section in gi.sections] == [str(n) for n in range(1, 13)]
    assert titles[3] == "Treatment Option Overview for Gastrointestinal Neuroendocrine Tumors"
    children = [child.title for child in gi.sections[3].children]
    assert children[:3] == ["Surgery", "Somatostatin Analogues", "Interferons"]
    assert "About This PDQ Summary" not in titles
    assert not any(title.startswith("Latest Updates") for title in titles)
    nested = [child.title for section in gi.sections for child in section.children]
    assert "Current Clinical Trials" not in nested


def test_gi_has_no_editorial_or_boilerplate_passages(gi: SourceDocument) -> None:
    roots = {passage.section_path[0] for passage in gi.passages}
    assert "About This PDQ Summary" not in roots
    assert not any(root.startswith("Latest Updates") for root in roots)
    assert not any("Current Clinical Trials" in passage.section_path for passage in gi.passages)
    assert not any("Go to Patient Version" in passage.text for passage in gi.passages)
    assert not any(re.search(r"\]\(|#cit/|\[\[|Level of evidence", passage.text) for passage in gi.passages)


def test_somatostatin_analogues_passages_cite_pmid_16630755(gi: SourceDocument) -> None:
    works = cited(gi)
    section = [p for p in gi.passages if p.section_path[-1] == "Somatostatin Analogues"]
    assert len(section) == 12
    assert all(p.section_path[0] == gi.sections[3].title and p.section_number == "4" for p in section)
    citing = [p for p in section if any(works[label].pmid == "16630755" for label in p.citations)]
    assert len(citing) == 3
    work = works["4.1"]
    assert work.pmid == "16630755"
    assert work.authors == ("Modlin IM", "Latich I", "Kidd M")
    assert work.title == "Therapeutic options for gastrointestinal carcinoids."
    assert work.journal == "Clin Gastroenterol Hepatol"
    assert work.year == 2006


def test_range_citations_expand_to_every_reference_between(gi: SourceDocument) -> None:
    works = cited(gi)
    # "...testis.[[3](#cit/section_1.3)-[5](#cit/section_1.5)]" in Anatomy
    anatomy = [p for p in gi.passages if p.section_path[-1] == "Anatomy"]
    assert anatomy[0].citations == ("1.4", "1.3", "1.5")
    assert [works[label].pmid for label in ("1.3", "1.4", "1.5")] == ["12569593", "17374863", "17235010"]
    # "[[3](#cit/section_1.3),[68](#cit/section_1.68)-[71](#cit/section_1.71)]" in Follow-Up and Survivorship
    follow_up = [p for p in gi.passages if p.section_path[-1] == "Follow-Up and Survivorship"]
    assert follow_up[0].citations == ("1.67", "1.3", "1.68", "1.69", "1.70", "1.71")
    assert [works[label].pmid for label in follow_up[0].citations] == [
        "15719376",
        "12569593",
        "9017986",
        "9083149",
        "10363895",
        "15053292",
    ]


def test_reference_lists_are_parsed_per_top_section(gi: SourceDocument, pdq_dir: Path) -> None:
    raw = (pdq_dir / GI).read_text(encoding="utf-8")
    expected, in_references = 0, False
    for line in raw.splitlines():
        if line.startswith("#"):
            in_references = line.startswith("###### References")
        elif in_references and re.match(r"\d+\. ", line):
            expected += 1
    assert len(gi.cited_works) == expected == 179
    book = cited(gi)["3.1"]  # a chapter of the AJCC manual: no PubMed link, no journal
    assert (book.pmid, book.journal, book.authors, book.year) == (None, None, (), 2017)
    assert book.title == "Neuroendocrine tumors of the stomach."


def test_levels_of_evidence_leave_the_text(gi: SourceDocument) -> None:
    levels = [(p.section_path[0], p.evidence_levels) for p in gi.passages if p.evidence_levels]
    assert [level for _, level in levels] == [("C2",), ("C1",), ("B1",), ("C2",), ("C2",)]
    assert levels[0][0] == "Treatment of Gastric Neuroendocrine Tumors"


def test_a_lone_level_of_evidence_paragraph_goes_to_the_passage_before(parsed: dict) -> None:
    (bhd,) = parsed["publications-pdq-information-summaries-genetics-bhd-syndrome-hp-pdq.md"]
    with_levels = [p for p in bhd.passages if p.evidence_levels]
    assert with_levels and all(p.text and not p.text.startswith("Level of evidence") for p in with_levels)
    assert {level for p in with_levels for level in p.evidence_levels} >= {"4", "5"}


def test_list_items_carry_their_lead_in(gi: SourceDocument) -> None:
    duodenal = [p for p in gi.passages if p.section_path == ("Treatment of Duodenal Neuroendocrine Tumors",)]
    items = [p for p in duodenal if p.block == "list_item"]
    assert len(items) == 3
    lead = duodenal[duodenal.index(items[0]) - 1]
    assert lead.block == "paragraph" and lead.text.endswith(":")
    lead_sentence = markdown.last_sentence(lead.text)
    assert lead_sentence.startswith("In addition")
    assert all(item.text.startswith(lead_sentence + " ") for item in items)
    assert items[2].citations == ("6.1", "6.4")  # the last item's own citations


def test_tables_are_flattened_with_their_caption(gi: SourceDocument) -> None:
    tables = [p for p in gi.passages if p.block == "table"]
    assert len(tables) == 21
    first = tables[0].text.splitlines()
    assert first[0] == "Table 1. Gastrointestinal Neuroendocrine Cellsa"
    assert "Cell Type | Location | Secretory Product" in first


def test_every_file_parses_or_is_a_skipped_editorial_page(parsed: dict, pdq_dir: Path) -> None:
    assert len(parsed) == 271
    skipped = sorted(name for name, records in parsed.items() if not records)
    assert len(skipped) == 22
    for name in skipped:
        text = (pdq_dir / name).read_text(encoding="utf-8")
        assert name.startswith("publications-pdq")
        assert "url: https://www.cancer.gov/publications/pdq" in text
        assert "## About This PDQ Summary" not in text
    documents = [doc for records in parsed.values() for doc in records]
    assert all(len(records) <= 1 for records in parsed.values())
    assert len(documents) == 249
    assert sum(doc.audience is Audience.HEALTH_PROFESSIONAL for doc in documents) == 249
    assert sum(doc.audience is Audience.PATIENT for doc in documents) == 0
    assert all(doc.date is not None and doc.passages for doc in documents)
    assert sorted(doc.doc_id for doc in documents if not doc.cited_works) == [
        "pdq:publications/pdq/levels-evidence/cam",
        "pdq:publications/pdq/levels-evidence/supportive-care",
    ]
    assert len({doc.doc_id for doc in documents}) == 249
    assert sum(len(doc.cited_works) for doc in documents) == 36246


def test_every_citation_resolves_and_no_markup_is_left(parsed: dict) -> None:
    documents = [doc for records in parsed.values() for doc in records]
    cited_total = 0
    for doc in documents:
        labels = {work.label for work in doc.cited_works}
        for passage in doc.passages:
            assert set(passage.citations) <= labels, (doc.doc_id, passage.citations)
            cited_total += len(passage.citations)
            assert not re.search(r"\]\(|#cit/|\[\[|^Go to .*Version$|^Enlarge$", passage.text), (
                doc.doc_id,
                passage.text,
            )
            assert passage.section_path and not passage.section_path[0].startswith(("About This", "Latest Updates"))
    assert cited_total > 40000
    with_pmid = sum(work.pmid is not None for doc in documents for work in doc.cited_works)
    assert with_pmid == 34277


def test_sniff_takes_pdq_files_only(pdq_dir: Path, corpus_dir: Path) -> None:
    for path in sorted(pdq_dir.glob("*.md")):
        head = path.read_bytes()[:8192]
        assert pdq.sniff(path.name, head), path.name
        assert not nci_drug.sniff(path.name, head) and not protocol.sniff(path.name, head), path.name
    for path in sorted((corpus_dir / "drug-info" / "nci").glob("*.md")):
        assert not pdq.sniff(path.name, path.read_bytes()[:8192]), path.name
    for path in sorted((corpus_dir / "labels" / "spl").iterdir()):
        assert not pdq.sniff(path.name, path.read_bytes()[:8192]), path.name


def test_bad_input_is_a_reader_error_naming_the_file(pdq_dir: Path) -> None:
    with pytest.raises(ReaderError, match="empty file"):
        list(pdq.parse(io.BytesIO(b""), "empty.md"))
    with pytest.raises(ReaderError, match=r"bad\.md.*not UTF-8"):
        list(pdq.parse(io.BytesIO((pdq_dir / GI).read_bytes()[:500] + b"\xff\xfe"), "bad.md"))
    with pytest.raises(ReaderError, match=r"nourl\.md.*no cancer\.gov url"):
        list(pdq.parse(io.BytesIO(b"---\ntitle: x\n---\n# x\n"), "nourl.md"))


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=60000), noise=st.binary(max_size=40))
def test_truncated_or_garbled_files_give_records_or_reader_errors(corpus_dir: Path, cut: int, noise: bytes) -> None:
    data = (corpus_dir / "guidelines" / "nci-pdq" / GI).read_bytes()
    try:
        records = list(pdq.parse(io.BytesIO(data[:cut] + noise + data[cut : cut + 2000]), "garbled.md"))
    except ReaderError as error:
        assert error.source == "garbled.md"
    else:
        assert len(records) <= 1


def test_docstring_examples() -> None:
    for module in (markdown, pdq):
        assert doctest.testmod(module).failed == 0


MERKEL = "types-skin-hp-merkel-cell-treatment-pdq.md"
LIST_FILES = (
    GI,
    MERKEL,
    "types-breast-hp-breast-treatment-pdq.md",
    "types-lung-hp-non-small-cell-lung-treatment-pdq.md",
    "types-leukemia-hp-cll-treatment-pdq.md",
    "about-cancer-treatment-cam-hp-curcumin-pdq.md",
)
# What a reader would recognise as page furniture, written independently of the reader's own rules.
FIGURE_CAPTION = re.compile(r"^Figure \d+\. ")
TABLE_CAPTION = re.compile(r"^Table \d+\. ")
ABBREVIATIONS = re.compile(r"^\S+ = [^=;]+; \S+ = ")
CREDIT = re.compile(r"^[a-z]?(?:Reprinted|Adapted|Reproduced)\b|with permission", re.IGNORECASE)
AUTHOR_LIST = re.compile(r"^[A-Z][\w'’-]+ [A-Z]{1,3}(?:, [A-Z][\w'’-]+ [A-Z]{1,3})*,? et al\.?:")
ENLARGE_LINK = re.compile(r"\[Enlarge\]\([^)]*\)")


def own_item_texts(path: Path) -> list[str]:
    """The cleaned text of every list item of a file, in order, read from the raw Markdown by itself."""
    _meta, body, first_line = markdown.split_front_matter(path.read_text(encoding="utf-8"), path.name)
    texts = []
    for block in markdown.parse_blocks(body, first_line):
        if block.kind == "item":
            texts.append(pdq.extract(ENLARGE_LINK.sub("", markdown.strip_images(block.text)), 0)[0])
    return texts


def documents(parsed: dict) -> list[SourceDocument]:
    return [doc for records in parsed.values() for doc in records]


@pytest.mark.parametrize("name", LIST_FILES)
def test_lead_end_splits_every_list_item_into_its_lead_in_and_its_own_text(
    parsed: dict, pdq_dir: Path, name: str
) -> None:
    (document,) = parsed[name]
    items = [p for p in document.passages if p.block == "list_item"]
    assert len(items) > 20
    own_texts = iter(own_item_texts(pdq_dir / name))
    for item in items:
        assert 0 <= item.lead_end < len(item.text)
        # text[lead_end:] is the item's own cleaned text: the items appear, in order, among the file's items.
        assert item.text[item.lead_end :] in own_texts, item.text
        if item.lead_end:
            assert item.text[item.lead_end - 1] == " " and item.text[: item.lead_end].strip()
    assert sum(item.lead_end > 0 for item in items) > len(items) / 2


def test_items_of_one_list_share_its_block_id_and_lead_in(parsed: dict) -> None:
    checked = 0
    for document in documents(parsed):
        passages = document.passages
        for ordinal, passage in enumerate(passages):
            if passage.block != "list_item":
                assert (passage.block_id, passage.item_number, passage.depth, passage.lead_end) == (None, None, 0, 0)
                continue
            checked += 1
            # The block id is the ordinal of the list's first item, and a list is one run of items.
            assert passage.block_id is not None and passage.block_id <= ordinal
            first = passages[passage.block_id]
            assert first.block == "list_item" and first.block_id == passage.block_id
            assert all(
                p.block == "list_item" and p.block_id == first.block_id for p in passages[first.block_id : ordinal]
            )
            if passage.depth == 0:
                assert passage.text[: passage.lead_end] == first.text[: first.lead_end]
            else:
                # A flattened sublist item: its lead-in ends with the colon-ended item it sits under.
                parent = next(p for p in reversed(passages[first.block_id : ordinal]) if p.depth == 0)
                parent_own = parent.text[parent.lead_end :]
                assert parent_own.endswith(":")
                assert passage.text[: passage.lead_end].rstrip().endswith(parent_own)
    assert checked > 25000


def test_numbered_lists_keep_their_numbers_and_order(parsed: dict, pdq_dir: Path) -> None:
    (merkel,) = parsed[MERKEL]
    numbered = [p for p in merkel.passages if p.item_number is not None]
    lists: dict[int, list] = {}
    for passage in numbered:
        lists.setdefault(passage.block_id, []).append(passage)
    # Each numbered list counts 1, 2, 3... in the order of the source.
    option_lists = [items for items in lists.values() if items[0].text[: items[0].lead_end].rstrip().endswith(":")]
    assert len(option_lists) >= 3
    for items in option_lists:
        assert [p.item_number for p in items] == list(range(1, len(items) + 1))
        assert {p.depth for p in items} == {0}
    # The numbers are the source's own: the raw file has the lines "N. <own text>", in this order.
    lines = (pdq_dir / MERKEL).read_text(encoding="utf-8").splitlines()
    for items in option_lists:
        position = 0
        for passage in items:
            prefix = f"{passage.item_number}. "
            position = next(
                index
                for index in range(position, len(lines))
                if lines[index].startswith(prefix)
                and pdq.extract(lines[index].removeprefix(prefix), 0)[0] == passage.text[passage.lead_end :]
            )


def test_a_numbered_item_after_a_paragraph_of_the_item_before_is_still_an_item(parsed: dict, pdq_dir: Path) -> None:
    # The scrape writes an item's later paragraphs flat between the items: "1. …", a paragraph, "2. …".
    raw = (pdq_dir / MERKEL).read_text(encoding="utf-8").splitlines()
    after_paragraph = [
        line
        for previous, line in itertools.pairwise(raw)
        if re.match(r"[2-9]\. ", line) and previous.strip() and not re.match(r"(?:\d+\.|-|#) ", previous)
    ]
    assert after_paragraph
    (merkel,) = parsed[MERKEL]
    items = {p.text[p.lead_end :]: p for p in merkel.passages if p.block == "list_item"}
    for line in after_paragraph:
        number, text = line.split(". ", 1)
        item = items[pdq.extract(text, 0)[0]]
        assert item.item_number == int(number)
        assert not any(p.text.endswith(item.text[item.lead_end :]) for p in merkel.passages if p.block == "paragraph")


def test_figure_captions_and_enlarge_links_are_never_passages(parsed: dict, pdq_dir: Path) -> None:
    raw = (pdq_dir / MERKEL).read_text(encoding="utf-8")
    assert len(re.findall(r"^Figure \d+\. ", raw, re.MULTILINE)) == 5
    assert "[Enlarge](" in raw
    for document in documents(parsed):
        for passage in document.passages:
            assert not FIGURE_CAPTION.match(passage.text), (document.doc_id, passage.text)
            assert not re.search(r"\bEnlarge(?!ment|d|s)", passage.text), (document.doc_id, passage.text)
    # A paragraph that talks about a figure is content, not its caption.
    assert any(re.match(r"Figure \d+ \w", p.text) for doc in documents(parsed) for p in doc.passages)


def test_table_captions_are_only_the_first_line_of_their_table(parsed: dict, pdq_dir: Path) -> None:
    for name in (MERKEL, GI):
        raw = (pdq_dir / name).read_text(encoding="utf-8")
        captions = [clean for clean in re.findall(r"^(Table \d+\. .*)$", raw, re.MULTILINE)]
        (document,) = parsed[name]
        tables = [p for p in document.passages if p.block == "table"]
        assert [p.text.splitlines()[0] for p in tables if TABLE_CAPTION.match(p.text)] == [
            markdown.clean_inline(caption) for caption in captions
        ]
    for document in documents(parsed):
        assert not any(TABLE_CAPTION.match(p.text) for p in document.passages if p.block != "table"), document.doc_id


def test_table_footnotes_that_are_abbreviations_or_credits_leave_the_table(parsed: dict, pdq_dir: Path) -> None:
    raw = (pdq_dir / MERKEL).read_text(encoding="utf-8")
    assert re.search(r"^\| \S+ = [^|;]+; \S+ = ", raw, re.MULTILINE)  # the source has both kinds of footnote
    assert re.search(r"^\| a?\S+ [A-Z] et al: .*Reprinted with permission", raw, re.MULTILINE)
    for name in (
        MERKEL,
        GI,
        "types-breast-hp-breast-treatment-pdq.md",
        "types-lung-hp-non-small-cell-lung-treatment-pdq.md",
    ):
        (document,) = parsed[name]
        tables = [p for p in document.passages if p.block == "table"]
        for line in (line for table in tables for line in table.text.splitlines()):
            assert not ABBREVIATIONS.match(line), (name, line)
            assert not CREDIT.search(line), (name, line)
            assert not AUTHOR_LIST.match(line.lstrip("abcdefghij")), (name, line)
    # Definitions that are the table's content stay ("T1 = …" in a staging table).
    (merkel,) = parsed[MERKEL]
    assert any(re.match(r"T1 = ", line) for p in merkel.passages if p.block == "table" for line in p.text.splitlines())


def test_a_dropped_credit_row_keeps_the_citations_it_names(gi: SourceDocument) -> None:
    # GI's Table 1 ends with the footnote "Adapted from [1]-[3]": the rows go, the three citations stay.
    first = next(p for p in gi.passages if p.block == "table")
    assert not CREDIT.search(first.text)
    assert {"2.1", "2.2", "2.3"} <= set(first.citations)


def test_one_abbreviation_that_is_content_is_kept(parsed: dict) -> None:
    # Merkel's mnemonic is a list of "X = word." items: one pair each, content, not an abbreviation list.
    (merkel,) = parsed[MERKEL]
    letters = [
        p for p in merkel.passages if p.block == "list_item" and re.fullmatch(r"[A-Z] = [^=;]+", p.text[p.lead_end :])
    ]
    assert len(letters) == 5
    assert len({p.block_id for p in letters}) == 1


def test_reference_strings_and_key_references_are_never_passages(parsed: dict, pdq_dir: Path) -> None:
    raw = (pdq_dir / "types-leukemia-hp-cll-treatment-pdq.md").read_text(encoding="utf-8")
    assert re.search(r"^## Key References", raw, re.MULTILINE)
    assert re.search(r"^- [A-Z][\w'’-]+ [A-Z]{1,3}, .*et al\.:", raw, re.MULTILINE)
    for document in documents(parsed):
        for passage in document.passages:
            assert not passage.section_path[0].startswith("Key References"), document.doc_id
            if passage.block != "table":
                assert not AUTHOR_LIST.match(passage.text[passage.lead_end :]), (document.doc_id, passage.text)
                assert not ABBREVIATIONS.match(passage.text[passage.lead_end :]), (document.doc_id, passage.text)
        assert not any(section.title.startswith("Key References") for section in document.sections)


def test_current_clinical_trials_boilerplate_is_never_a_passage(parsed: dict, pdq_dir: Path) -> None:
    raw = (pdq_dir / MERKEL).read_text(encoding="utf-8")
    assert raw.count("### Current Clinical Trials") >= 3
    for document in documents(parsed):
        for passage in document.passages:
            assert "Current Clinical Trials" not in passage.section_path, document.doc_id
            assert "advanced clinical trial search" not in passage.text, document.doc_id
