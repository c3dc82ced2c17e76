"""The optional language-model summary (issue 14): the verifier against adversarial answers made mechanically
from real articles, a real llama.cpp server with Gemma 3 270M as the model, servers that fail, rendering,
editing and stored versions.

No clinical text is written here: every sentence the verifier sees is a sentence the article quotes, the
model's own words, or one of those transformed by :mod:`vademecum.synthesis.adversarial`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from llama_server import MODEL_NAME, llama_server
from vademecum.answer.article import Article, CitedSentence, Summary, SummaryStatus
from vademecum.answer.citations import check_citations, reference_sources
from vademecum.answer.dose_forms import FREQUENCY_RE, normalise_frequency
from vademecum.answer.render import SUMMARY_HEADING, to_dict, to_html_fragment, to_markdown
from vademecum.answer.verify import verify_article
from vademecum.articles.edits import apply_edits, editable_sentences, load_article
from vademecum.cli import app
from vademecum.evaluation.summaries import strict_failures
from vademecum.services.ask import ask, with_summary
from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings, SynthesisSettings
from vademecum.synthesis.adversarial import FAITHFUL, adversarial_cases
from vademecum.synthesis.client import ModelUnavailable, complete
from vademecum.synthesis.prompt import Prompt, build_prompt
from vademecum.synthesis.summary import split_answer, summarise
from vademecum.synthesis.verify import Reason, Verifier

# A guideline with option lists and a label with doses: the two kinds of text a summary restates.
FILES = (
    "guidelines/nci-pdq/types-breast-hp-breast-treatment-pdq.md",
    "labels/spl/humira.xml",
    "pubmed/pubmedparser-pubmed21n1002.xml.gz",
)
QUESTIONS = ("How is early-stage breast cancer treated?", "What is the treatment for rheumatoid arthritis?")
ADVERSARIAL = {"changed_dose", "swapped_drug", "dropped_negation", "inserted_negation", "invented_citation",
               "unrelated_citation", "no_citation"}  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("synthesis"), corpus=corpus_dir)
    runtime = open_runtime(settings)
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
        assert ingest_paths(runtime, [corpus_dir / name for name in FILES]).ok
    finally:
        runtime.close()
    return settings


@pytest.fixture(scope="module")
def runtime(home: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(home)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def articles(runtime: Runtime) -> dict[str, Article]:
    """The extractive article of each question."""
    return {question: ask(runtime, question) for question in QUESTIONS}


@pytest.fixture(scope="module")
def verifier(runtime: Runtime) -> Verifier:
    return Verifier(runtime.vocabulary.drugs, runtime.vocabulary.mesh)


@pytest.fixture(scope="session")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama.cpp server with the Gemma weights, for the whole test session."""
    with llama_server(tmp_path_factory.mktemp("llama")) as base_url:
        yield base_url


def prompt_of(article: Article) -> Prompt:
    settings = SynthesisSettings()
    return build_prompt(article, max_passages=settings.max_passages, max_passage_chars=settings.max_passage_chars)


def verdicts(answer: str, prompt: Prompt, verifier: Verifier, question: str) -> list[tuple[str, tuple[Reason, ...]]]:
    passages = {passage.number: passage.text for passage in prompt.passages}
    return [(text, verifier.verify(text, cited, passages, question).reasons) for text, cited in split_answer(answer)]


# --- the verifier against adversarial answers -------------------------------------------------------------


def test_every_adversarial_answer_is_refused_for_its_reason_and_the_faithful_quote_passes(
    articles: dict[str, Article], runtime: Runtime, verifier: Verifier
) -> None:
    seen: set[str] = set()
    for question, article in articles.items():
        prompt = prompt_of(article)
        assert len(prompt.passages) >= 3, question
        cases = adversarial_cases(prompt, runtime.vocabulary.drugs)
        assert cases[0].name == FAITHFUL
        for case in cases:
            (result,) = verdicts(case.answer, prompt, verifier, question)
            text, reasons = result
            if case.expected is None:
                assert reasons == (), (question, text, reasons)
            else:
                assert case.expected in reasons, (question, case.name, text, reasons)
            seen.add(case.name)
    # Between them the two articles offer every kind of mistake.
    assert seen >= ADVERSARIAL | {FAITHFUL}, ADVERSARIAL - seen


def test_doses_and_schedules_compare_after_unit_normalisation(articles: dict[str, Article], verifier: Verifier) -> None:
    """A quoted dose sentence with its schedule rewritten in another accepted form ("every 2 weeks", "q2w")
    passes; with its amount in another unit of the same value ("40 mg" as "0.04 g") too."""
    rewritten = 0
    for question, article in articles.items():
        prompt = prompt_of(article)
        for passage in prompt.passages:
            for sentence in passage.sentences:
                text = " ".join(sentence.text.split())
                match = FREQUENCY_RE.search(text)
                dose = re.search(r"\b(\d+) mg\b", text)
                if text not in passage.text or match is None or dose is None:
                    continue
                canonical = normalise_frequency(match.group())
                forms = [canonical]
                interval = re.fullmatch(r"every (\d+) (week|day)s", canonical)
                if interval:
                    forms.append(f"q{interval[1]}{interval[2][0]}")
                for form in forms:
                    variant = text[: match.start()] + form + text[match.end() :]
                    grams = f"{int(dose[1]) / 1000:g} g"
                    variant = variant.replace(dose.group(), grams, 1)
                    ((_, reasons),) = verdicts(f"{variant} [{passage.number}]", prompt, verifier, question)
                    assert reasons == (), (variant, reasons)
                    rewritten += 1
    assert rewritten >= 2


def test_a_sentence_citing_a_passage_number_and_one_that_does_not_exist_is_refused(
    articles: dict[str, Article], verifier: Verifier
) -> None:
    question, article = next(iter(articles.items()))
    prompt = prompt_of(article)
    quote = prompt.passages[0].sentences[0].text
    ((_, reasons),) = verdicts(f"{quote} [1, 99]", prompt, verifier, question)
    assert Reason.UNKNOWN_CITATION in reasons


def test_the_model_answer_is_split_into_sentences_with_their_citations() -> None:
    answer = "**Answer:** First part [1]. Second part. [2, 3]\n- Third part [1-3][7].\nKey considerations:"
    assert list(split_answer(answer)) == [
        ("First part.", (1,)),
        ("Second part.", (2, 3)),
        ("Third part.", (1, 2, 3, 7)),
    ]


# --- a real model -----------------------------------------------------------------------------------------


def test_the_real_model_summary_keeps_only_sentences_that_pass_an_independent_strict_check(
    articles: dict[str, Article], runtime: Runtime, model_url: str
) -> None:
    with_model = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"synthesis": llm(model_url)})
    )
    reasons: Counter[str] = Counter()
    generated = accepted = 0
    for article in articles.values():
        summarised = with_summary(with_model, article)
        summary = summarised.summary
        assert summary is not None and summary.status is not SummaryStatus.UNAVAILABLE, summary
        assert summary.model == MODEL_NAME and summary.endpoint == model_url
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", summary.prompt_hash or "")
        assert summary.latency_ms is not None and summary.latency_ms > 0
        assert summary.verification, "the model wrote no sentence"
        for check in summary.verification:
            assert check.accepted == (not check.reasons)
            assert len(check.reasons) == len(check.details)
        shown = [check.text for check in summary.verification if check.accepted]
        if summary.status is SummaryStatus.SHOWN:
            assert [sentence.text for sentence in summary.sentences] == shown
        else:
            assert summary.sentences == () and summary.note
        assert strict_failures(summarised, runtime.vocabulary.drugs) == []
        assert check_citations(summarised) == []
        with runtime.session() as session:
            assert verify_article(session, summarised) == []
        # The quoted article is the same with or without the summary.
        assert _without_summary(summarised) == _without_summary(article)
        generated += len(summary.verification)
        accepted += len(shown)
        reasons.update(reason for check in summary.verification for reason in check.reasons)
    # What the small model does, for the record (the scorer reports the 20-question figures).
    print(f"gemma: {generated} sentences, {accepted} accepted, rejected by reason: {dict(reasons)}")


def test_ask_with_synthesis_llm_stores_the_summary_record_in_the_version(
    articles: dict[str, Article], home: Settings, model_url: str, tmp_path: Path
) -> None:
    """The service the web app and API call: a new article's version 1 carries the summary and its record."""
    from vademecum.services import articles as service

    settings = home.model_copy(update={"synthesis": llm(model_url)})
    runtime = open_runtime(settings)
    try:
        question = QUESTIONS[1]
        state = service.ask_article(runtime, question, None)
    finally:
        runtime.close()
    summary = state.article_json["summary"]
    assert state.article_json["schema_version"] == "1.4"
    assert summary["model"] == MODEL_NAME and summary["endpoint"] == model_url
    assert summary["prompt_hash"].startswith("sha256:")
    assert summary["verification"] and all("accepted" in check for check in summary["verification"])


# --- servers that fail ------------------------------------------------------------------------------------


def llm(base_url: str | None, **changes: object) -> SynthesisSettings:
    # Answers of at most 160 tokens keep the model's time in the test run to a few minutes on 2 cores.
    return SynthesisSettings(mode="llm", base_url=base_url, model=MODEL_NAME, **{"max_tokens": 160, **changes})


@contextlib.contextmanager
def misbehaving_server(reply: bytes | None, delay: float = 0.0) -> Iterator[str]:
    """A loopback server that answers every request with ``reply`` after ``delay`` seconds, or closes the
    connection without a word when ``reply`` is None; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    # Closing the listener does not wake an accept() blocked in another thread: poll, so the server ends
    # with the test instead of 10 s after it.
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            with connection:
                connection.recv(65536)
                if stop.wait(delay):
                    return
                if reply is not None:
                    connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=10)


def http(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close"
    return head.encode() + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (http("200 OK", b"<html>not json</html>"), "sent no chat completion"),
        (http("200 OK", json.dumps({"choices": []}).encode()), "sent no chat completion"),
        (http("200 OK", json.dumps({"choices": [{"message": {"content": "  "}}]}).encode()), "sent an empty answer"),
        (http("500 Internal Server Error", b"{}"), "answered HTTP 500"),
        (None, "could not be reached"),
    ],
)
def test_a_server_that_returns_garbage_or_nothing_leaves_the_article_without_a_summary(
    articles: dict[str, Article], verifier: Verifier, reply: bytes | None, message: str
) -> None:
    article = articles[QUESTIONS[1]]
    with misbehaving_server(reply) as base_url:
        summary = summarise(article, llm(base_url), verifier)
    assert summary.status is SummaryStatus.UNAVAILABLE
    assert message in (summary.note or "")
    assert summary.sentences == () and summary.verification == ()
    assert summary.prompt_hash and summary.endpoint == base_url


def test_a_summary_shows_each_verified_sentence_once_and_records_every_sentence(
    articles: dict[str, Article], runtime: Runtime, verifier: Verifier
) -> None:
    """An answer (from a server that replays it) of two of the article's quotes, one of them repeated, and
    a quote with its dose changed: the two quotes are shown once each, the changed dose is recorded refused."""
    question = QUESTIONS[1]
    article = articles[question]
    prompt = prompt_of(article)
    cases = {case.name: case for case in adversarial_cases(prompt, runtime.vocabulary.drugs)}
    faithful = cases[FAITHFUL].answer
    first_number = int(re.search(r"\[(\d+)\]$", faithful)[1])
    other = next(
        f"{text} [{passage.number}]"
        for passage in prompt.passages
        if passage.number != first_number
        for text in (" ".join(sentence.text.split()) for sentence in passage.sentences)
        if text in passage.text and len(list(split_answer(text))) == 1 and "[" not in text
    )
    content = "\n".join([faithful, faithful, cases["changed_dose"].answer, other])
    reply = http("200 OK", json.dumps({"choices": [{"message": {"content": content}}]}).encode())
    with misbehaving_server(reply) as base_url:
        summary = summarise(article, llm(base_url), verifier)
    assert [check.accepted for check in summary.verification] == [True, False, True]
    assert Reason.DOSE in summary.verification[1].reasons
    assert summary.status is SummaryStatus.SHOWN
    assert [sentence.text for sentence in summary.sentences] == [
        summary.verification[0].text,
        summary.verification[2].text,
    ]
    shown = dataclasses.replace(article, summary=summary)
    assert check_citations(shown) == [] and strict_failures(shown, runtime.vocabulary.drugs) == []


def test_a_server_that_does_not_answer_in_time_is_given_up(articles: dict[str, Article], verifier: Verifier) -> None:
    article = articles[QUESTIONS[1]]
    with misbehaving_server(http("200 OK", b"{}"), delay=30) as base_url:
        started = time.monotonic()
        summary = summarise(article, llm(base_url, timeout_seconds=1.5), verifier)
        elapsed = time.monotonic() - started
    assert summary.status is SummaryStatus.UNAVAILABLE
    assert summary.note == f"the model server at {base_url} did not answer within 1.5 s"
    assert elapsed < 10


def test_an_answer_larger_than_the_bound_is_refused() -> None:
    body = json.dumps({"choices": [{"message": {"content": "x" * 4000}}]}).encode()
    with misbehaving_server(http("200 OK", body)) as base_url, pytest.raises(ModelUnavailable, match="more than 1024"):
        complete(llm(base_url, max_response_bytes=1024), [{"role": "user", "content": "?"}])


def test_without_an_endpoint_the_command_says_so_and_prints_the_extractive_article(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VADEMECUM_HOME", str(home.home))
    monkeypatch.setenv("VADEMECUM_CORPUS", str(home.corpus))
    monkeypatch.delenv("VADEMECUM_SYNTHESIS__BASE_URL", raising=False)
    result = CliRunner().invoke(app, ["ask", QUESTIONS[1], "--synthesis", "llm"])
    assert result.exit_code == 0, result.output
    assert "no summary: no model endpoint is configured (set synthesis.base_url" in result.stderr
    assert "## From the FDA Drug Label" in result.stdout
    assert f"## {SUMMARY_HEADING}" not in result.stdout


def test_settings_refuse_an_unknown_mode_by_name_and_record_no_credentials() -> None:
    with pytest.raises(ValidationError, match=r"synthesis\.mode"):
        Settings(synthesis={"mode": "abstractive"})
    settings = SynthesisSettings(base_url="https://user:secret@models.example:8443/v1/?key=x")
    assert settings.endpoint_name == "https://models.example:8443/v1"


# --- presentation, editing, stored versions -------------------------------------------------------------


def shown_summary(article: Article) -> Article:
    """``article`` with a summary of two of its own quoted sentences, cited to their passages (as the
    summariser builds shown sentences), for rendering and editing."""
    prompt = prompt_of(article)
    sentences = tuple(
        CitedSentence(passage.sentences[0].text, passage.sentences[0].source) for passage in prompt.passages[:2]
    )
    summary = Summary(SummaryStatus.SHOWN, sentences, model=MODEL_NAME, endpoint="http://127.0.0.1:1/v1")
    return dataclasses.replace(article, summary=summary)


def test_the_summary_is_labelled_above_the_quoted_sections(articles: dict[str, Article]) -> None:
    article = shown_summary(articles[QUESTIONS[1]])
    markdown = to_markdown(article)
    summary_at = markdown.index(f"## {SUMMARY_HEADING}")
    assert summary_at < markdown.index("## From the Guidelines")
    assert "_Summary written by a language model and checked against the cited sources_" in markdown
    number = article.citation_numbers[article.summary.sentences[0].source.key]
    assert f"[{number}]" in markdown[summary_at : markdown.index("## From the Guidelines")]
    html = to_html_fragment(article)
    assert html.index('<section class="summary"') < html.index('<section class="guidelines">')
    assert "Summary written by a language model and checked against the cited sources" in html


def test_editors_remove_summary_sentences_like_any_other(articles: dict[str, Article], runtime: Runtime) -> None:
    article = shown_summary(articles[QUESTIONS[1]])
    article_json = to_dict(article)
    listed = editable_sentences(article_json)
    assert [s.heading for s in listed[:2]] == [SUMMARY_HEADING, SUMMARY_HEADING]
    assert listed[2].heading != SUMMARY_HEADING
    with runtime.session() as session:
        result = apply_edits(article_json, {1: None}, reference_sources(session, article.citation_numbers).get)
    edited = load_article(result.article_json)
    assert [s.text for s in edited.summary.sentences] == [article.summary.sentences[1].text]
    assert edited.guidelines == article.guidelines and edited.labels == article.labels
    assert check_citations(edited) == []


def test_a_version_stored_before_schema_1_4_still_loads(articles: dict[str, Article]) -> None:
    stored = to_dict(articles[QUESTIONS[1]])
    del stored["summary"]
    stored["schema_version"] = "1.3"
    loaded = load_article(stored)
    assert loaded.summary is None and loaded.schema_version == "1.3"
    assert loaded.labels == articles[QUESTIONS[1]].labels


def _without_summary(article: Article) -> dict:
    data = to_dict(article)
    for name in ("summary", "generated_at"):
        data.pop(name)
    return data
