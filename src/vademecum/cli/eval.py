"""``vademecum eval``: retrieval quality on public benchmarks, Vademecum beside a plain BM25 baseline,
article quality against the PDQ treatment summaries, and FDA label and research quality for the conditions
the labels are indicated for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vademecum.cli.common import console, err_console, progress_bar, runtime_for_command
from vademecum.errors import VademecumError
from vademecum.evaluation import articles, bioasq, labels, pubmedqa, runner, summaries
from vademecum.evaluation.bioasq import Benchmark
from vademecum.search.dense import MISSING, DenseEncoder
from vademecum.settings import get_settings

app = typer.Typer(
    help="Retrieval quality on BioASQ and PubMedQA beside a plain BM25 baseline; article quality on PDQ summaries;"
    " FDA label and research quality for the labels' most common indications.",
    no_args_is_help=True,
)

JsonOption = Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON to this file.")]


SYSTEM_LABELS = {
    runner.VADEMECUM: "Vademecum",
    runner.VADEMECUM_DENSE: "Vademecum + dense",
    runner.BASELINE: "bm25s baseline",
}


def _encoder(dense: bool | None) -> DenseEncoder | None:
    """The dense encoder when asked for (``True``), or by default (``None``) when its package is installed."""
    if dense is False:
        return None
    if dense is None and not DenseEncoder.installed():
        err_console.print(f"the dense retriever is not installed, so Vademecum is measured lexical only: {MISSING}")
        return None
    return DenseEncoder.load()


def _report(benchmark: Benchmark, metrics: tuple[str, ...], json_path: Path | None, dense: bool | None) -> None:
    encoder = _encoder(dense)
    # The pool's vectors are kept in the data directory, so only the first dense run on a pool embeds it.
    cache_dir = get_settings().home / "embeddings" if encoder is not None else None
    result = runner.run(benchmark, encoder, cache_dir)
    names = list(result.systems)
    ours = [name for name in names if name != runner.BASELINE]
    table = Table(title=f"{result.benchmark}: {result.questions:,} questions, {result.passages:,} passages")
    table.add_column("questions")
    table.add_column("metric")
    for name in names:
        table.add_column(SYSTEM_LABELS[name], justify="right")
    for name in ours:
        table.add_column("ratio" if name == runner.VADEMECUM else "ratio + dense", justify="right")
    groups: list[tuple[str, int, dict[str, dict[str, float]]]] = [
        ("all", result.questions, {name: system.overall for name, system in result.systems.items()})
    ]
    if len(result.questions_by_type) > 1:
        groups += [
            (kind, count, {name: system.by_type[kind] for name, system in result.systems.items()})
            for kind, count in result.questions_by_type.items()
        ]
    for label, count, scores in groups:
        base = scores[runner.BASELINE]
        for metric in metrics:
            ratios = [f"{scores[name][metric] / base[metric]:.3f}" if base[metric] else "-" for name in ours]
            table.add_row(f"{label} ({count})", metric, *(f"{scores[name][metric]:.4f}" for name in names), *ratios)
        table.add_section()
    console.print(table)
    console.print(
        "; ".join(
            f"{SYSTEM_LABELS[name]}: indexed in {system.index_seconds:.1f} s, queried in {system.query_seconds:.1f} s"
            for name, system in result.systems.items()
        ),
        highlight=False,
    )
    if json_path is not None:
        write_json(json_path, result.to_json())


def write_json(json_path: Path, data: object) -> None:
    """Write a scorer's results as indented JSON (creating the folder) and say where."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {json_path}", highlight=False)


def split_bioasq_arguments(words: list[str]) -> tuple[list[Path], list[Path], Path | None, bool | None]:
    """Pool files, query files, JSON path and the dense choice (True, False, or None: when installed) from
    ``--pool A B ... --queries C D ... [--json PATH] [--dense | --lexical]``.

    Each option takes every word up to the next option, so a shell glob (``--queries dir/10B*``) works.
    """
    found: dict[str, list[str]] = {"--pool": [], "--queries": [], "--json": []}
    current: str | None = None
    dense: bool | None = None
    for word in words:
        if word in ("--dense", "--lexical"):
            dense, current = word == "--dense", None
        elif word in found:
            current = word
        elif current is None:
            raise typer.BadParameter(f"{word!r} comes before --pool or --queries")
        else:
            found[current].append(word)
    if not found["--pool"] or not found["--queries"]:
        raise typer.BadParameter("give --pool FILES_OR_DIRS and --queries FILES")
    if len(found["--json"]) > 1:
        raise typer.BadParameter("--json takes one path")
    json_path = Path(found["--json"][0]) if found["--json"] else None
    return [Path(word) for word in found["--pool"]], [Path(word) for word in found["--queries"]], json_path, dense


@app.command(
    "bioasq",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="--pool DIR_OR_FILES... --queries FILES... [--json PATH] [--dense | --lexical]",
)
def bioasq_command(context: typer.Context) -> None:
    """BioASQ Task B: each question's body against the pool of gold snippets; nDCG@10, Recall@10, MRR@10.

    --pool: golden files or directories of them whose snippets form the pool; --queries: golden files whose
    questions are asked (their snippets join the pool too); --json: also write the results to this file;
    Vademecum is measured lexical, and also fused with the optional dense retriever when it is installed
    (pip install '.[dense]'); --dense requires the fused run, --lexical skips it.
    """
    pool, queries, json_path, dense = split_bioasq_arguments(list(context.args))
    try:
        benchmark = bioasq.build_benchmark(bioasq.golden_files(pool), bioasq.golden_files(queries))
    except VademecumError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _report(benchmark, ("ndcg@10", "recall@10", "mrr@10"), json_path, dense)


@app.command("pubmedqa")
def pubmedqa_command(
    questions: Annotated[
        Path, typer.Argument(help="test_ground_truth.json (PMID -> answer) or ori_pqal.json (all 1,000 questions).")
    ],
    abstracts: Annotated[
        Path | None,
        typer.Option(help="ori_pqal.json with the 1,000 abstracts; default: pubmedqa/ori_pqal.json in the corpus."),
    ] = None,
    json_path: JsonOption = None,
    dense: Annotated[
        bool | None,
        typer.Option(
            "--dense/--lexical",
            help="Also measure the fusion with the optional dense retriever (default: when it is installed).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """PubMedQA: each question against the 1,000 labelled abstracts; Recall@1, Recall@5, MRR."""
    abstracts = abstracts or get_settings().corpus / "pubmedqa" / "ori_pqal.json"
    try:
        benchmark = pubmedqa.build_benchmark(questions, abstracts)
    except VademecumError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _report(benchmark, ("recall@1", "recall@5", "mrr"), json_path, dense)


def _figure(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@app.command("articles")
def articles_command(
    limit: Annotated[int | None, typer.Option(help="Score only the first N summaries (in file name order).")] = None,
    only: Annotated[
        str | None, typer.Option(help="Score only the summaries whose file name or title contains this (any case).")
    ] = None,
    json_path: Annotated[Path, typer.Option("--json", help="Write the results as JSON to this file.")] = Path(
        "bench/results/eval-articles.json"
    ),
) -> None:
    """Article quality: ask "What is the treatment for <disease>?" for every adult health-professional PDQ
    treatment summary and score the article against that summary (option-list recall, agent recall, junk
    and off-intent sentences, body words, ask latency). See docs/article-quality.md.
    """
    with runtime_for_command() as runtime:
        summaries = articles.load_summaries(get_settings().corpus, runtime.vocabulary.drugs, only, limit)
        if not summaries:
            err_console.print("[red]error:[/red] no adult health-professional PDQ treatment summary matched")
            raise typer.Exit(1)
        with progress_bar() as progress:
            task = progress.add_task("asking", total=len(summaries))
            result = articles.evaluate(runtime, summaries, lambda score: progress.advance(task))
    table = Table(title=f"Article quality: {len(summaries)} PDQ treatment summaries, one question each")
    for name in ("summary", "list recall", "agent recall", "junk", "off-intent", "body words", "ask ms"):
        table.add_column(name, justify="left" if name == "summary" else "right")
    for score in result.scores:
        table.add_row(
            score.disease if score.error is None else f"{score.disease} [red](failed)[/red]",
            f"{_figure(score.list_recall)} ({score.items_quoted}/{score.items})",
            f"{_figure(score.agent_recall)} ({score.agents_named}/{score.agents})",
            str(len(score.junk)),
            f"{_share(score.off_intent_share)} ({score.off_intent}/{score.guideline_sentences})",
            str(score.body_words),
            f"{score.ask_ms:,.0f}",
        )
    total = result.overall
    table.add_section()
    table.add_row(
        f"[bold]overall[/bold] ({total.summaries}, {total.failed} failed)",
        _figure(total.list_recall),
        _figure(total.agent_recall),
        str(total.junk),
        _share(total.off_intent_share),
        _figure(total.median_body_words, 0) + " (median)",
        f"p50 {_figure(total.ask_p50_ms, 0)} / p95 {_figure(total.ask_p95_ms, 0)}",
    )
    targets = articles.TARGETS
    table.add_row(
        "[dim]target[/dim]",
        f"[dim]≥ {targets['list_recall']:.2f}[/dim]",
        f"[dim]≥ {targets['agent_recall']:.2f}[/dim]",
        f"[dim]{targets['junk']:.0f}[/dim]",
        f"[dim]≤ {targets['off_intent_share']:.0%}[/dim]",
        f"[dim]≤ {targets['median_body_words']:.0f}[/dim]",
        "",
    )
    console.print(table)
    for score in result.scores:
        if score.error is not None:
            err_console.print(f"{score.file}: {score.error}", highlight=False)
    write_json(json_path, result.to_json())


@app.command("labels")
def labels_command(
    limit: Annotated[
        int, typer.Option(help="Score the N conditions most labels are indicated for.", min=1)
    ] = labels.TOP_CONDITIONS,
    json_path: Annotated[Path, typer.Option("--json", help="Write the results as JSON to this file.")] = Path(
        "bench/results/eval-labels.json"
    ),
) -> None:
    """FDA label and research quality: for the conditions the drug labels' Indications and Usage name most
    often (MeSH diseases), ask "What is the treatment for <condition>?" and count the label blocks quoting
    the indication for it with a dose, the dose checks that agree or differ, research precision at 3 (the
    study's MeSH headings or title name the condition), body words and ask latency (warm). See
    docs/label-research-quality.md.
    """
    with runtime_for_command() as runtime:
        with runtime.session() as session:
            conditions = labels.top_conditions(session, runtime.vocabulary.mesh, limit)
        if not conditions:
            err_console.print("[red]error:[/red] no drug label in the store names a condition in its indications")
            raise typer.Exit(1)
        with progress_bar() as progress:
            task = progress.add_task("asking", total=len(conditions))
            result = labels.evaluate(runtime, conditions, lambda score: progress.advance(task))
    table = Table(title=f"FDA labels and research: the {len(conditions)} conditions most labels are indicated for")
    for name in ("condition", "labels", "on-label blocks", "doses agree/differ", "research P@3", "words", "ask ms"):
        table.add_column(name, justify="left" if name == "condition" else "right")
    for score in result.scores:
        judged = len(score.studies)
        on_topic = sum(study.on_topic for study in score.studies)
        table.add_row(
            score.condition if score.error is None else f"{score.condition} [red](failed)[/red]",
            str(score.labels_indicated),
            f"{score.on_label_blocks}/{score.label_blocks}",
            f"{score.doses_agree}/{score.doses_differ}",
            f"{_figure(score.research_precision)} ({on_topic}/{judged})",
            str(score.body_words),
            f"{score.ask_ms:,.0f}",
        )
    total = result.overall
    table.add_section()
    table.add_row(
        f"[bold]overall[/bold] ({total.conditions}, {total.failed} failed)",
        "",
        f"{total.on_label_passing}/{total.conditions} pass",
        f"{total.doses_agree}/{total.doses_differ}",
        f"{_figure(total.research_precision)} (mean; {total.no_research} none)",
        _figure(total.median_body_words, 0) + " (median)",
        f"p50 {_figure(total.ask_p50_ms, 0)} / p95 {_figure(total.ask_p95_ms, 0)}",
    )
    targets = labels.TARGETS
    table.add_row(
        "[dim]target[/dim]",
        "",
        f"[dim]{total.conditions}/{total.conditions}[/dim]",
        "",
        f"[dim]≥ {targets['research_precision']:.2f}[/dim]",
        "",
        f"[dim]p50 ≤ {targets['ask_p50_ms']:.0f} / p95 ≤ {targets['ask_p95_ms']:.0f}[/dim]",
    )
    console.print(table)
    console.print(
        f"label blocks: {total.on_label_blocks} of {total.label_blocks} quote the indication for the condition"
        f" and a dose; {total.indication_without_dose} quote the indication without a dose;"
        f" {total.negated_indications} quote an indication saying the drug is not for the condition",
        highlight=False,
    )
    for score in result.scores:
        if score.error is not None:
            err_console.print(f"{score.question}: {score.error}", highlight=False)
    write_json(json_path, result.to_json())


@app.command("summaries")
def summaries_command(
    limit: Annotated[
        int, typer.Option(help="Ask about the N conditions most labels are indicated for.", min=1)
    ] = labels.TOP_CONDITIONS,
    json_path: Annotated[Path, typer.Option("--json", help="Write the results as JSON to this file.")] = Path(
        "bench/results/eval-summaries.json"
    ),
) -> None:
    """Language-model summaries on the label scorer's questions: compose each article, have the configured
    model server (synthesis.base_url) write its summary, and count the sentences generated, accepted and
    rejected by reason, the summaries shown or dropped, strict-check failures among accepted sentences (must
    be 0), the latency the summary adds, and the adversarial answers refused as expected.
    """
    with runtime_for_command() as runtime:
        if not runtime.settings.synthesis.base_url:
            err_console.print("[red]error:[/red] synthesis.base_url is not set (VADEMECUM_SYNTHESIS__BASE_URL)")
            raise typer.Exit(1)
        with runtime.session() as session:
            conditions = labels.top_conditions(session, runtime.vocabulary.mesh, limit)
        with progress_bar() as progress:
            task = progress.add_task("summarising", total=len(conditions))
            result = summaries.evaluate(runtime, conditions, lambda score: progress.advance(task))
    table = Table(title=f"Summaries by {result.model} at {result.endpoint}: {len(conditions)} questions")
    for name in ("question", "summary", "generated", "accepted", "rejected by reason", "strict", "adds ms", "adv."):
        table.add_column(name, justify="left" if name in ("question", "rejected by reason") else "right")
    for score in result.scores:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(score.rejected.items()))
        correct = sum(r.correct for r in score.adversarial)
        table.add_row(
            score.question if score.error is None else f"{score.question} [red](failed)[/red]",
            score.status or "",
            str(score.generated),
            str(score.accepted),
            reasons,
            str(len(score.strict_failures)),
            f"{score.summary_ms:,.0f}",
            f"{correct}/{len(score.adversarial)}",
        )
    total = result.overall
    table.add_section()
    table.add_row(
        f"[bold]overall[/bold] ({total.questions}, {total.failed} failed)",
        f"{total.summaries_shown} shown, {total.summaries_dropped} dropped, {total.summaries_unavailable} unavailable",
        str(total.generated),
        str(total.accepted),
        ", ".join(f"{reason} {count}" for reason, count in total.rejected.items()),
        str(total.strict_failures),
        f"p50 {_figure(total.summary_p50_ms, 0)} / p95 {_figure(total.summary_p95_ms, 0)}",
        f"{total.adversarial_correct}/{total.adversarial_cases}",
    )
    console.print(table)
    cases = ", ".join(f"{case} {right}/{count}" for case, (right, count) in total.adversarial_by_case.items())
    console.print(f"adversarial answers handled as expected, by case: {cases}", highlight=False)
    for score in result.scores:
        if score.error is not None:
            err_console.print(f"{score.question}: {score.error}", highlight=False)
    write_json(json_path, result.to_json())
