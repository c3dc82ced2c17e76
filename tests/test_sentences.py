"""Sentence spans, stand-alone groups, statement filtering and near-duplicates on real passages."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from vademecum.answer.sentences import (
    CONTEXT_OPENERS,
    Span,
    cluster_duplicates,
    group_standalone,
    is_clinical_statement,
    near_duplicate,
    needs_context,
    split_sentences,
)
from vademecum.evidence.models import EvidencePassage
from vademecum.services.runtime import Runtime

GI_NET = "pdq:types/gi-neuroendocrine-tumors/hp/gi-neuroendocrine-treatment-pdq"
PNET = "pdq:types/pancreatic/hp/pnet-treatment-pdq"
PHEO_CHILD = "pdq:types/pheochromocytoma/hp/child-pheochromocytoma-treatment-pdq"
PHEO_ADULT = "pdq:types/pheochromocytoma/hp/pheochromocytoma-treatment-pdq"


def passages(runtime: Runtime, document_id: str, contains: str = "", block: str | None = None) -> list[EvidencePassage]:
    """Passages of a document whose text contains ``contains``, in document order."""
    with runtime.session() as session:
        query = select(EvidencePassage).where(
            EvidencePassage.document_id == document_id, EvidencePassage.text.contains(contains)
        )
        if block is not None:
            query = query.where(EvidencePassage.block == block)
        found = list(session.scalars(query.order_by(EvidencePassage.ordinal)))
        session.expunge_all()
    assert found, f"no passage of {document_id} contains {contains!r}"
    return found


@pytest.fixture
def gi_net_texts(demo_runtime: Runtime) -> list[tuple[tuple[str, ...], str]]:
    """(section path, text) of every passage of the GI neuroendocrine PDQ summary."""
    return [(tuple(p.section_path), p.text) for p in passages(demo_runtime, GI_NET)]


def spans_of_section(texts: list[tuple[tuple[str, ...], str]], heading: str) -> Iterator[tuple[str, list[Span]]]:
    for path, text in texts:
        if path and path[-1] == heading:
            yield text, split_sentences(text)


def test_surgery_passage_splits_into_its_four_sentences(gi_net_texts):
    [(text, spans)] = list(spans_of_section(gi_net_texts, "Surgery"))
    assert len(spans) == 4
    assert spans[0].start == 0 and spans[-1].end == len(text)
    assert [span.text.split()[0] for span in spans] == ["The", "Endoscopic", "Resection", "However,"]
    # Each sentence ends with its full stop and the next starts after one space.
    for span, following in itertools.pairwise(spans):
        assert span.text.endswith(".") and text[span.end : following.start] == " "


def test_spans_round_trip_and_never_cut_inside_a_token(gi_net_texts):
    count = 0
    for _, text in gi_net_texts:
        spans = split_sentences(text)
        assert spans, text
        previous_end = 0
        for span in spans:
            assert text[span.start : span.end] == span.text == span.text.strip()
            assert span.start >= previous_end
            # A sentence never ends inside a token ("P < .001", "e.g.,", "5.2 months").
            assert span.end == len(text) or text[span.end].isspace()
            previous_end = span.end
            count += 1
    assert count > 600


def test_abbreviations_do_not_end_a_sentence(demo_runtime):
    [item] = [
        p for p in passages(demo_runtime, GI_NET, "(e.g., ", block="list_item") if "Somatostatin" in p.section_path[-1]
    ]
    assert split_sentences(item.text) == [Span(0, len(item.text), item.text)]


def test_table_rows_are_never_joined(demo_runtime):
    table = passages(demo_runtime, GI_NET, block="table")[0]
    lines = table.text.split("\n")
    spans = split_sentences(table.text)
    assert len(spans) >= len([line for line in lines if line.strip()])
    assert all("\n" not in span.text for span in spans)
    # The caption line "Table N." is its own sentence and no statement.
    assert spans[0].text.startswith("Table ") and not is_clinical_statement(spans[0].text)


def test_split_results_are_cached_copies(gi_net_texts):
    text = gi_net_texts[0][1]
    first = split_sentences(text)
    first.clear()
    assert split_sentences(text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from(list("ab Z.,;:!?()\"'\n\t-12\u00a0\x1fé")))))
def test_split_sentences_round_trips_any_text(text):
    covered: set[int] = set()
    previous_end = 0
    for span in split_sentences(text):
        assert text[span.start : span.end] == span.text
        assert span.text and span.text == span.text.strip()
        assert span.start >= previous_end
        previous_end = span.end
        covered.update(range(span.start, span.end))
    # Only whitespace is left outside the sentences.
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in covered)


def test_needs_context_on_real_sentences(gi_net_texts):
    sentences = [span.text for _, text in gi_net_texts for span in split_sentences(text)]
    these = [s for s in sentences if s.startswith("These ")]
    however = [s for s in sentences if s.startswith("However,")]
    in_addition_to = [s for s in sentences if s.startswith("In addition to ")]
    assert len(these) >= 3 and len(however) >= 3 and in_addition_to
    assert all(needs_context(s) for s in these + however)
    assert not any(needs_context(s) for s in in_addition_to)
    # Sentences opening with a noun phrase of their own stand alone.
    standalone = [s for s in sentences if s.split()[0].casefold() in ("the", "surgery", "patients")]
    assert standalone and not any(needs_context(s) for s in standalone)
    assert "however" in CONTEXT_OPENERS


def test_group_standalone_keeps_however_with_its_predecessor(gi_net_texts):
    [(text, spans)] = list(spans_of_section(gi_net_texts, "Surgery"))
    grouped = group_standalone(spans, text)
    assert grouped.groups == [[spans[0]], [spans[1]], [spans[2], spans[3]]]
    assert grouped.dropped == []
    assert list(grouped) == grouped.groups and len(grouped) == 3


def test_group_standalone_drops_what_leans_on_a_missing_predecessor(demo_runtime):
    [passage] = passages(demo_runtime, PNET, "are particularly rare.")
    spans = split_sentences(passage.text)
    grouped = group_standalone(spans, passage.text)
    # The passage opens with "These …" and goes on with "They …": both lean on text the passage lacks.
    assert [span.text.split()[0] for span in grouped.dropped] == ["These", "They"]
    assert grouped.dropped == spans[:2]
    assert [span for group in grouped.groups for span in group] == spans[2:]


def test_is_clinical_statement_drops_navigation_and_lead_ins(demo_runtime, gi_net_texts):
    trials = passages(demo_runtime, GI_NET, "Information about ongoing clinical trials")[0].text
    assert not is_clinical_statement(split_sentences(trials)[0].text)
    see_also = [
        s.text for _, t in gi_net_texts for s in split_sentences(t) if s.text.startswith("For more information")
    ]
    assert see_also and not any(is_clinical_statement(s) for s in see_also)
    lead_in = passages(demo_runtime, GI_NET, "tumors include:", block="paragraph")[0].text
    assert lead_in.endswith(":") and not is_clinical_statement(lead_in)
    # A list item carries its lead-in's verb, so even a one-word item is a statement.
    items = passages(demo_runtime, GI_NET, "tumors include: ", block="list_item")
    assert len(items) >= 8 and all(is_clinical_statement(item.text) for item in items)
    [(_, spans)] = list(spans_of_section(gi_net_texts, "Surgery"))
    assert all(is_clinical_statement(span.text) for span in spans)


def list_items(runtime: Runtime, document_id: str) -> list[str]:
    return [p.text for p in passages(runtime, document_id, "symptoms of excess catecholamine production", "list_item")]


def test_near_duplicates_between_the_adult_and_childhood_summaries(demo_runtime):
    child, adult = list_items(demo_runtime, PHEO_CHILD), list_items(demo_runtime, PHEO_ADULT)
    assert len(child) == len(adult) == 6
    # The two summaries word the lead-in differently; items match when they name the same sign.
    item = lambda text: text.rsplit(": ", 1)[1]  # noqa: E731
    merged = {(a, b) for a in child for b in adult if near_duplicate(a, b)}
    same_item = {(a, b) for a in child for b in adult if item(a) == item(b)}
    assert merged == same_item and len(merged) == 5
    assert all(a != b for a, b in merged)
    # Items under one lead-in are never duplicates of each other.
    assert not any(near_duplicate(a, b) for a in child for b in child if a != b)


def test_cluster_duplicates_groups_the_repeated_items(demo_runtime):
    child, adult = list_items(demo_runtime, PHEO_CHILD), list_items(demo_runtime, PHEO_ADULT)
    clusters = cluster_duplicates(child + adult)
    assert sorted(index for cluster in clusters for index in cluster) == list(range(12))
    pairs = [cluster for cluster in clusters if len(cluster) == 2]
    assert len(pairs) == 5 and len(clusters) == 7
    assert all(first < 6 <= second for first, second in pairs)
    assert [cluster[0] for cluster in clusters] == sorted(cluster[0] for cluster in clusters)


def test_numbers_and_negations_keep_sentences_apart(gi_net_texts):
    sentences = [s.text for _, t in gi_net_texts for s in split_sentences(t)]
    with_number = next(s for s in sentences if " 20% " in s)
    assert near_duplicate(with_number, with_number)
    assert not near_duplicate(with_number, with_number.replace(" 20% ", " 30% "))
    with_negation = next(s for s in sentences if " not " in s)
    assert not near_duplicate(with_negation, with_negation.replace(" not ", " "))
    # Reordering the sentence's parts changes what it claims.
    words = with_number.rstrip(".").split(", ")
    assert len(words) > 1 and not near_duplicate(with_number, ", ".join(reversed(words)) + ".")
