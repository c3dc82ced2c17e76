"""The guideline's own structure becomes the article: bottom line, option lists by setting, agents.

Real questions over the real demo corpus; every assertion compares the article with the stored source.
"""

from __future__ import annotations

import json
import re

import pytest

from vademecum.answer.article import Article, BulletGroup
from vademecum.answer.citations import reference_sources
from vademecum.answer.outline import BACKGROUND, FOLLOW_UP, STANDARD_CUES, on_intent, setting_words, stages
from vademecum.answer.render import from_json, to_json, to_markdown
from vademecum.answer.understand import Intent
from vademecum.answer.verify import article_sentences
from vademecum.articles.edits import apply_edits, editable_sentences
from vademecum.evidence.store import document_passages, passages_by_id
from vademecum.services.ask import ask
from vademecum.services.runtime import Runtime

MERKEL = "pdq:types/skin/hp/merkel-cell-treatment-pdq"
MERKEL_QUESTION = "What is the treatment for Merkel cell carcinoma?"
NET_QUESTION = "What is the management for neuroendocrine tumors (NETs)?"
JUNK = re.compile(r"^(?:Figure|Table) \d+\.|\bet al[.:]|Reprinted|©|\b[A-Z]{2,} = ")


@pytest.fixture(scope="module")
def merkel(demo_runtime: Runtime) -> Article:
    return ask(demo_runtime, MERKEL_QUESTION)


@pytest.fixture(scope="module")
def net(demo_runtime: Runtime) -> Article:
    return ask(demo_runtime, NET_QUESTION)


def setting(article: Article, words: str) -> BulletGroup:
    found = [group for group in article.guidelines.settings if words in group.heading]
    assert len(found) == 1, [group.heading for group in article.guidelines.settings]
    return found[0]


@pytest.mark.parametrize("stage", ["Stage I and II", "Stage III", "Stage IV"])
def test_each_stage_list_is_quoted_whole_in_order_under_its_own_heading(
    demo_runtime: Runtime, merkel: Article, stage: str
):
    group = setting(merkel, f"Treatment Options for {stage} Merkel Cell Carcinoma")
    with demo_runtime.session() as session:
        stored = [p for p in document_passages(session, MERKEL) if p.block_id is not None]
    items = [p for p in stored if p.block_id == stored_block(stored, group)]
    assert [bullet.number for bullet in group.bullets] == [p.item_number for p in items]
    assert [" ".join(s.text for s in bullet.sentences) for bullet in group.bullets] == [
        p.text[p.lead_end :] for p in items
    ]
    assert group.lead and group.lead[0].text.startswith("Treatment options for")
    assert group.lead[0].text.endswith("include:")


def stored_block(stored: list, group: BulletGroup) -> int:
    first = group.bullets[0].sentences[0].source.passage_id
    return next(p.block_id for p in stored if p.id == first)


def test_stage_iii_options_keep_their_list_and_are_not_regrouped(merkel: Article):
    group = setting(merkel, "Stage III")
    texts = [bullet.sentences[0].text for bullet in group.bullets]
    assert texts[0] == "Margin-negative local excision, attempting to maintain function."
    assert texts[2].startswith("Local and regional lymph node radiation")
    # The stage III item on radiation is quoted in its list, never under another group.
    quoted = [s for s in article_sentences(merkel) if s.text.startswith("Local and regional lymph node radiation")]
    assert len(quoted) == 1


def test_the_bottom_line_comes_first_and_states_what_is_standard(merkel: Article):
    bottom = merkel.guidelines.bottom_line
    assert 1 <= len(bottom) <= 3
    for bullet in bottom:
        text = " ".join(s.text for s in bullet.sentences)
        assert any(pattern.search(text) for pattern, _ in STANDARD_CUES), text
    markdown = to_markdown(merkel)
    guidelines = markdown.split("## From the Guidelines", 1)[1]
    assert guidelines.lstrip().startswith("### Bottom line")
    assert "This section quotes" not in markdown


def test_named_agents_have_entries_with_the_guidelines_evidence(merkel: Article):
    agents = {group.drug.casefold(): group for group in merkel.guidelines.agents if group.drug}
    assert {"avelumab", "pembrolizumab", "retifanlimab", "nivolumab"} <= set(agents)
    avelumab = agents["avelumab"]
    assert avelumab.lead[0].text.startswith("Avelumab is a human anti")
    evidence = " ".join(s.text for bullet in avelumab.bullets for s in bullet.sentences)
    assert "10 mg/kg" in evidence
    assert "approved avelumab in 2017" in evidence


def test_no_junk_or_background_in_a_treatment_article(merkel: Article, net: Article):
    for article in (merkel, net):
        for sentence in article.guidelines.sentences:
            assert not JUNK.search(sentence.text), sentence.text
            path = sentence.source.section_path
            # Background sections never answer, except the follow-up a summary files under them.
            assert not BACKGROUND.match(path[0]) or any(FOLLOW_UP.search(h) for h in path[1:]), path
            assert on_intent(sentence.source.section_path, Intent.MANAGEMENT), sentence.source.section_path


def test_a_question_naming_a_setting_gets_that_setting_first(demo_runtime: Runtime):
    article = ask(demo_runtime, "What is the treatment for stage IV Merkel cell carcinoma?")
    assert "Stage IV" in article.guidelines.settings[0].heading
    recurrent = ask(demo_runtime, "How is recurrent Merkel cell carcinoma treated?")
    assert "Recurrent" in recurrent.guidelines.settings[0].heading


def test_setting_words_and_stages():
    assert stages("Treatment Options for Stage I and II Merkel Cell Carcinoma") == {"I", "II"}
    assert stages("stages IIIB or IV") == {"IIIB", "IV"}
    assert setting_words("relapsed disease") == setting_words("Recurrent MCC") == {"recurr"}


def test_net_article_covers_the_guidelines_options_and_agents(net: Article):
    body = to_markdown(net).split("## From the FDA Drug Label")[0].casefold()
    for term in ("surgery", "octreotide", "lanreotide", "everolimus", "sunitinib", "lutetium"):
        assert term in body, term
    assert "temozolomide" in body or "streptozocin" in body
    assert not any(group.note for group in net.guidelines.settings if "Childhood" in (group.note or ""))


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("How is Merkel cell carcinoma diagnosed?", Intent.DIAGNOSIS),
        ("What is the prognosis of Merkel cell carcinoma?", Intent.PROGNOSIS),
        ("What is the dose of avelumab for Merkel cell carcinoma?", Intent.DOSING),
    ],
)
def test_other_intents_quote_their_own_sections(demo_runtime: Runtime, question: str, intent: Intent):
    article = ask(demo_runtime, question)
    assert article.question.intent == intent.value
    quoted = list(article.guidelines.sentences)
    assert quoted
    assert all(on_intent(s.source.section_path, intent) for s in quoted), [s.source.section_path for s in quoted]
    assert not article.guidelines.settings


def test_a_dosing_question_on_a_named_drug_gets_that_drugs_entry_with_its_dose(demo_runtime: Runtime):
    article = ask(demo_runtime, "What is the dose of avelumab for Merkel cell carcinoma?")
    assert [group.drug for group in article.guidelines.agents] == ["Avelumab"]
    entry = " ".join(s.text for s in article.guidelines.agents[0].sentences)
    assert "avelumab (10 mg/kg intravenously [IV] every 2 weeks)" in entry


def test_the_article_reads_back_from_json_and_every_sentence_is_its_source(demo_runtime: Runtime, merkel: Article):
    assert from_json(to_json(merkel)) == merkel
    sentences = list(article_sentences(merkel))
    with demo_runtime.session() as session:
        stored = passages_by_id(session, (s.source.passage_id for s in sentences))
    for sentence in sentences:
        source = sentence.source
        assert stored[source.passage_id].text[source.start : source.end] == sentence.text


def test_markdown_keeps_the_lists_numbers_and_levels(merkel: Article):
    markdown = to_markdown(merkel)
    assert "### Options by setting" in markdown
    assert re.search(r"^1\. Margin-negative local excision, attempting to maintain function\. \[\d+\]$", markdown, re.M)
    assert "### Agents named in the guideline" in markdown
    assert re.search(r"\(Level of evidence: C3\)", markdown)


def test_an_editor_can_edit_an_option_item_and_the_list_keeps_its_shape(demo_runtime: Runtime, merkel: Article):
    article_json = json.loads(to_json(merkel))
    listed = editable_sentences(article_json)
    target = next(s for s in listed if s.text == "Margin-negative local excision, attempting to maintain function.")
    assert "Options by setting" in target.heading
    with demo_runtime.session() as session:
        sources = reference_sources(session, [s.source.key for s in article_sentences(merkel)])
    result = apply_edits(article_json, {target.position: None}, sources.get)
    edited = from_json(json.dumps(result.article_json))
    before = [len(g.bullets) for g in merkel.guidelines.settings]
    after = [len(g.bullets) for g in edited.guidelines.settings]
    assert sum(before) - sum(after) == 1
    assert [b.number for g in edited.guidelines.settings for b in g.bullets if b.number == 1]
