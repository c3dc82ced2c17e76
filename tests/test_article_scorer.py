"""The article-quality scorer (``vademecum eval articles``) on real PDQ summaries.

Every clinical sentence here is cut from the real Merkel cell carcinoma summary of the corpus (by the PDQ
reader's passages or its Markdown blocks); the articles are assembled from those sentences to check the
counting. The end-to-end test asks through a store holding that one summary and the vocabulary.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vademecum.answer.article import (
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
from vademecum.answer.sentences import split_sentences
from vademecum.cli import app
from vademecum.evaluation import articles
from vademecum.evaluation.articles import OptionItem, Summary
from vademecum.records import SourceDocument
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings
from vademecum.sources import pdq
from vademecum.sources.markdown import Block, clean_inline, parse_blocks, split_front_matter
from vademecum.vocab.drugs import DrugLexicon

PDQ = "guidelines/nci-pdq"
MERKEL = f"{PDQ}/types-skin-hp-merkel-cell-treatment-pdq.md"
STAGE_III = "Treatment Options for Stage III"
STAGE_I_II = "Treatment Options for Stage I and II"
# Passage ids of sentences cut from Markdown blocks rather than from the reader's passages.
BLOCK_IDS = 100_000


@pytest.fixture(scope="module")
def drugs() -> DrugLexicon:
    return DrugLexicon.load()


@pytest.fixture(scope="module")
def merkel(corpus_dir: Path, drugs: DrugLexicon) -> Summary:
    summary = articles.read_summary(corpus_dir / MERKEL, drugs)
    assert summary is not None
    return summary


@pytest.fixture(scope="module")
def document(corpus_dir: Path) -> SourceDocument:
    path = corpus_dir / MERKEL
    with path.open("rb") as handle:
        (parsed,) = pdq.parse(handle, path.name)
    assert isinstance(parsed, SourceDocument)
    return parsed


@pytest.fixture(scope="module")
def blocks(corpus_dir: Path) -> list[Block]:
    text = (corpus_dir / MERKEL).read_text(encoding="utf-8")
    _, body, first_line = split_front_matter(text, MERKEL)
    return parse_blocks(body, first_line)


def items_under(summary: Summary, heading: str) -> list[OptionItem]:
    return [item for item in summary.items if item.section_path[-1].startswith(heading)]


def passage_index(document: SourceDocument, item: OptionItem) -> int:
    """The reader's passage of an option item: same section, its text ends with the item's."""
    return next(
        index
        for index, passage in enumerate(document.passages)
        if passage.section_path == item.section_path and passage.text.endswith(item.text)
    )


def cite(document: SourceDocument, index: int, which: Iterable[int] | None = None) -> tuple[CitedSentence, ...]:
    """Sentences of passage ``index`` (all, or those at the positions ``which``), located by their spans."""
    passage = document.passages[index]
    spans = split_sentences(passage.text)
    chosen = spans if which is None else [spans[position] for position in which]
    location = (document.doc_id, passage.section_path)
    return tuple(CitedSentence(span.text, SourceLocation(index, *location, span.start, span.end)) for span in chosen)


def article_of(document: SourceDocument, *bullets: tuple[CitedSentence, ...]) -> Article:
    """An article whose guideline section holds ``bullets`` in one group, all cited to one reference."""
    keys = {sentence.source.key for bullet in bullets for sentence in bullet}
    reference = Reference(1, ReferenceKind.GUIDELINE, document.doc_id, document.title, None, None, "guideline")
    guidelines = GuidelineSection(
        lead="",
        guideline_keys=(),
        key_considerations=(),
        groups_heading="Treatment options",
        groups=(BulletGroup("Quoted", tuple(Bullet(bullet) for bullet in bullets)),),
    )
    return Article(
        question=QuestionSummary(text="", intent="treatment", conditions=(), drugs=()),
        title="Scorer test",
        generated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        engine_version="test",
        corpus=CorpusSnapshot(last_ingest_run=None, documents=1, indexed_passages=len(document.passages)),
        guidelines=guidelines,
        labels=LabelSection(blocks=()),
        research=ResearchSection(groups=()),
        references=(reference,),
        citation_numbers=dict.fromkeys(keys, 1),
        disclaimer="Test article.",
    )


def block_sentences(
    document: SourceDocument, text: str, number: int, section_path: tuple[str, ...]
) -> tuple[tuple[CitedSentence, ...], dict[int, str]]:
    """The sentences of a Markdown block's plain ``text`` as if it were passage ``BLOCK_IDS + number``."""
    passage_id = BLOCK_IDS + number
    located = tuple(
        CitedSentence(span.text, SourceLocation(passage_id, document.doc_id, section_path, span.start, span.end))
        for span in split_sentences(text)
    )
    return located, {passage_id: text}


# --- reading the summary ---------------------------------------------------------------------------------


def test_merkel_summary_question_option_lists_and_agents(merkel: Summary):
    assert merkel.disease == "Merkel cell carcinoma"
    assert merkel.question == "What is the treatment for Merkel cell carcinoma?"
    stage_iii = items_under(merkel, STAGE_III)
    assert "Margin-negative local excision, attempting to maintain function." in [item.text for item in stage_iii]
    assert all(item.lead is not None and item.lead.startswith("Treatment options for") for item in stage_iii)
    # The lists of trial evidence ("Evidence (avelumab):") are not option lists.
    assert not any(item.lead and item.lead.startswith("Evidence") for item in merkel.items)
    assert all(articles.is_treatment_path(item.section_path) for item in merkel.items)
    names = {agent.name.casefold() for agent in merkel.agents}
    assert {"avelumab", "pembrolizumab"} <= names
    avelumab = next(agent for agent in merkel.agents if agent.name.casefold() == "avelumab")
    assert "avelumab" in avelumab.names


def test_a_list_straight_under_a_treatment_options_heading_is_an_option_list():
    # Structure only (placeholder words, no clinical text): no adult summary of the corpus has such a list.
    body = "## Treatment of X\n\n### Treatment Options for X\n\n1. Option one.\n2. Option two.\n\nNote.\n\n- Not one.\n"
    items = articles.option_items(parse_blocks(body))
    assert [(item.text, item.lead) for item in items] == [("Option one.", None), ("Option two.", None)]


@pytest.mark.parametrize(
    ("name", "disease"),
    [
        ("types-breast-hp-pregnancy-breast-treatment-pdq.md", "breast cancer during pregnancy"),
        ("types-lymphoma-hp-adult-hodgkin-treatment-pdq.md", "Hodgkin lymphoma"),
        ("types-lymphoma-hp-aggressive-b-cell-lymphoma-treatment-pdq.md", "aggressive B-cell non-Hodgkin lymphoma"),
    ],
)
def test_disease_is_named_as_the_title_names_it(corpus_dir: Path, drugs: DrugLexicon, name: str, disease: str):
    summary = articles.read_summary(corpus_dir / PDQ / name, drugs)
    assert summary is not None
    assert summary.disease == disease


def test_summaries_for_children_are_left_out(corpus_dir: Path, drugs: DrugLexicon):
    assert articles.read_summary(corpus_dir / PDQ / "types-skin-hp-child-melanoma-treatment-pdq.md", drugs) is None
    paths = articles.summary_paths(corpus_dir)
    assert corpus_dir / MERKEL in paths
    only = articles.load_summaries(corpus_dir, drugs, only="merkel-cell")
    assert [summary.path.name for summary in only] == [Path(MERKEL).name]


def test_treatment_sections_by_their_outermost_deciding_heading(document: SourceDocument):
    tops = {passage.section_path[0]: passage.section_path for passage in document.passages if passage.section_path}
    decided = {top.split(" ")[0]: articles.is_treatment_path(path) for top, path in tops.items()}
    assert decided["General"] is False
    assert decided["Cellular"] is False
    assert decided["Stage"] is False
    assert decided["Treatment"] is True


# --- list recall -----------------------------------------------------------------------------------------


def test_list_recall_counts_items_quoted_whole_or_piece_by_piece(merkel: Summary, document: SourceDocument):
    stage_iii = items_under(merkel, STAGE_III)
    stage_i_ii = items_under(merkel, STAGE_I_II)
    two, three = (document.passages[passage_index(document, item)].text for item in stage_i_ii[1:3])
    assert len(split_sentences(two)) >= 2 and len(split_sentences(three)) >= 3  # the pieces the test quotes
    whole = [cite(document, passage_index(document, item)) for item in stage_iii[:4]]
    second = passage_index(document, stage_i_ii[1])
    pieces = [cite(document, second, [position]) for position in range(len(split_sentences(two)))]
    first_only = cite(document, passage_index(document, stage_i_ii[2]), [0])
    article = article_of(document, *whole, *pieces, first_only)

    score = articles.score_article(merkel, article)

    assert (score.items, score.items_quoted) == (len(merkel.items), 5)
    missing = {line for line, _ in score.missing_items}
    # Stage I-II's first item has the words of stage III's first, which was quoted: it was not quoted itself.
    assert stage_i_ii[0].line in missing
    assert stage_i_ii[2].line in missing and stage_iii[4].line in missing
    sentences = list(first_only)
    assert 0 < articles.item_coverage(stage_i_ii[2], document.doc_id, sentences) < articles.ITEM_COVERAGE


def test_an_item_quoted_without_its_lead_in_counts(merkel: Summary, document: SourceDocument):
    item = items_under(merkel, STAGE_III)[1]
    index = passage_index(document, item)
    passage = document.passages[index]
    start = len(passage.text) - len(item.text)
    location = SourceLocation(index, document.doc_id, passage.section_path, start, len(passage.text))
    assert articles.item_quoted(item, document.doc_id, [CitedSentence(passage.text[start:], location)])
    elsewhere = SourceLocation(index, "pdq:another-summary", passage.section_path, start, len(passage.text))
    assert not articles.item_quoted(item, document.doc_id, [CitedSentence(passage.text[start:], elsewhere)])


# --- agents, off-intent, words ---------------------------------------------------------------------------


def test_agents_named_off_intent_and_body_words(merkel: Summary, document: SourceDocument):
    avelumab = next(i for i, p in enumerate(document.passages) if p.section_path[-1].casefold() == "avelumab")
    background = next(
        i for i, p in enumerate(document.passages) if p.section_path and p.section_path[0].startswith("General")
    )
    option = passage_index(document, items_under(merkel, STAGE_III)[0])
    article = article_of(
        document, cite(document, avelumab, [0]), cite(document, background, [0]), cite(document, option)
    )
    body = articles.body_markdown(article)
    assert "Avelumab" not in {agent for agent in articles.score_article(merkel, article).missing_agents}
    retifanlimab = next(agent for agent in merkel.agents if agent.name.casefold() == "retifanlimab")
    assert not articles.agent_named(retifanlimab, body)

    score = articles.score_article(merkel, article)

    assert (score.guideline_sentences, score.off_intent) == (3, 1)
    assert score.off_intent_share == pytest.approx(1 / 3)
    assert score.body_words == articles.body_words(body) > 0
    assert "## References" not in body


# --- junk ------------------------------------------------------------------------------------------------


def test_captions_references_glossaries_and_trials_boilerplate_are_junk(document: SourceDocument, blocks: list[Block]):
    path = ("Treatment Option Overview for Merkel Cell Carcinoma",)
    figure = next(clean_inline(block.text) for block in blocks if re.match(r"Figure \d+\.", clean_inline(block.text)))
    rows = [clean_inline(row[0]) for block in blocks if block.kind == "table" for row in block.rows]
    reference = next(row for row in rows if "et al:" in row)
    glossary = next(row for row in rows if " = " in row and ";" in row)
    after_trials = next(
        clean_inline(after.text)
        for before, after in itertools.pairwise(blocks)
        if before.kind == "heading" and clean_inline(before.text) == "Current Clinical Trials"
    )
    expected = {"caption": figure, "reference": reference, "glossary": glossary, "trials-boilerplate": after_trials}
    for number, (reason, text) in enumerate(expected.items()):
        sentences, passages = block_sentences(document, text, number, path)
        # Every sentence of a caption is junk, not only its "Figure N." opener, when the passage is known.
        found = {
            articles.junk_reason(sentence, None, True, passages[sentence.source.passage_id]) for sentence in sentences
        }
        assert found == {reason}, (reason, found)


def test_a_sentence_leaning_on_a_missing_predecessor_is_junk(merkel: Summary, document: SourceDocument):
    index, first, second = next(
        (index, spans[0], spans[1])
        for index, passage in enumerate(document.passages)
        if articles.is_treatment_path(passage.section_path)
        and len(spans := split_sentences(passage.text)) >= 2
        and articles.leans(spans[1].text)
        and not articles.leans(spans[0].text)
    )
    together = cite(document, index, [0, 1])
    alone = cite(document, index, [1])
    text = document.passages[index].text
    assert articles.junk_reason(together[1], together[0], False, text) is None
    assert articles.junk_reason(alone[0], None, True, text) == "leaning"
    # Its predecessor just before it, but in the bullet before: still a bullet that starts leaning.
    assert articles.junk_reason(alone[0], together[0], True, text) == "leaning"
    assert (first.text, second.text) == (together[0].text, together[1].text)

    score = articles.score_article(merkel, article_of(document, together, alone), {index: text})
    assert [junk.reason for junk in score.junk] == ["leaning"]
    assert score.junk[0].start == second.start


# --- the command, end to end -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def merkel_home(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """A data directory holding the vocabulary and the Merkel cell carcinoma summary only."""
    settings = Settings(home=tmp_path_factory.mktemp("scorer-home"), corpus=corpus_dir)
    runtime = open_runtime(settings)
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
        assert ingest_paths(runtime, [corpus_dir / MERKEL]).ok
    finally:
        runtime.close()
    return settings.home


def test_eval_articles_asks_scores_and_writes_json(
    merkel_home: Path, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VADEMECUM_HOME", str(merkel_home))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(corpus_dir))
    out = tmp_path / "articles.json"

    result = CliRunner().invoke(app, ["eval", "articles", "--only", "merkel-cell", "--json", str(out)])

    assert result.exit_code == 0, result.output
    assert "overall" in result.output and "target" in result.output
    data = json.loads(out.read_text())
    overall = data["overall"]
    assert (overall["summaries"], overall["failed"]) == (1, 0)
    (row,) = data["articles"]
    assert row["question"] == "What is the treatment for Merkel cell carcinoma?"
    assert row["items"] == 12 and 0 <= row["list_recall"] <= 1
    assert 0 <= row["agent_recall"] <= 1 and row["body_words"] > 0 and row["ask_ms"] > 0
    assert overall["targets"] == articles.TARGETS


def test_eval_articles_says_when_no_summary_matches(
    merkel_home: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VADEMECUM_HOME", str(merkel_home))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(corpus_dir))
    result = CliRunner().invoke(app, ["eval", "articles", "--only", "no-such-summary"])
    assert result.exit_code == 1
