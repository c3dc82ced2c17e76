"""``vademecum eval``: retrieval quality on public benchmarks, Vademecum beside a plain BM25 baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vademecum.cli.common import console, err_console
from vademecum.errors import VademecumError
from vademecum.evaluation import bioasq, pubmedqa, runner
from vademecum.evaluation.bioasq import Benchmark
from vademecum.search.dense import DenseEncoder
from vademecum.settings import get_settings

app = typer.Typer(help="Retrieval quality on BioASQ and PubMedQA, beside a plain BM25 baseline.", no_args_is_help=True)

JsonOption = Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON to this file.")]


def _report(benchmark: Benchmark, metrics: tuple[str, ...], json_path: Path | None, dense: bool) -> None:
    # The pool's vectors are kept in the data directory, so only the first --dense run on a pool embeds it.
    cache_dir = get_settings().home / "embeddings"
    result = runner.run(benchmark, DenseEncoder.load() if dense else None, cache_dir if dense else None)
    ours, theirs = result.systems[runner.VADEMECUM], result.systems[runner.BASELINE]
    table = Table(title=f"{result.benchmark}: {result.questions:,} questions, {result.passages:,} passages")
    table.add_column("questions")
    table.add_column("metric")
    table.add_column("Vademecum", justify="right")
    table.add_column("bm25s baseline", justify="right")
    table.add_column("ratio", justify="right")
    groups = [("all", result.questions, ours.overall, theirs.overall)]
    if len(result.questions_by_type) > 1:
        groups += [
            (kind, count, ours.by_type[kind], theirs.by_type[kind]) for kind, count in result.questions_by_type.items()
        ]
    for label, count, mine, base in groups:
        for metric in metrics:
            ratio = f"{mine[metric] / base[metric]:.3f}" if base[metric] else "-"
            table.add_row(f"{label} ({count})", metric, f"{mine[metric]:.4f}", f"{base[metric]:.4f}", ratio)
        table.add_section()
    console.print(table)
    console.print(
        f"Vademecum: indexed in {ours.index_seconds:.1f} s, queried in {ours.query_seconds:.1f} s; "
        f"baseline: {theirs.index_seconds:.1f} s, {theirs.query_seconds:.1f} s",
        highlight=False,
    )
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_path}", highlight=False)


def split_bioasq_arguments(words: list[str]) -> tuple[list[Path], list[Path], Path | None, bool]:
    """Pool files, query files, JSON path and the dense flag from
    ``--pool A B ... --queries C D ... [--json PATH] [--dense]``.

    Each option takes every word up to the next option, so a shell glob (``--queries dir/10B*``) works.
    """
    found: dict[str, list[str]] = {"--pool": [], "--queries": [], "--json": []}
    current: str | None = None
    dense = False
    for word in words:
        if word == "--dense":
            dense, current = True, None
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
    options_metavar="--pool DIR_OR_FILES... --queries FILES... [--json PATH] [--dense]",
)
def bioasq_command(context: typer.Context) -> None:
    """BioASQ Task B: each question's body against the pool of gold snippets; nDCG@10, Recall@10, MRR@10.

    --pool: golden files or directories of them whose snippets form the pool; --queries: golden files whose
    questions are asked (their snippets join the pool too); --json: also write the results to this file;
    --dense: fuse Vademecum's ranking with the optional dense retriever (pip install '.[dense]').
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
    dense: Annotated[bool, typer.Option("--dense", help="Fuse with the optional dense retriever.")] = False,
) -> None:
    """PubMedQA: each question against the 1,000 labelled abstracts; Recall@1, Recall@5, MRR."""
    abstracts = abstracts or get_settings().corpus / "pubmedqa" / "ori_pqal.json"
    try:
        benchmark = pubmedqa.build_benchmark(questions, abstracts)
    except VademecumError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _report(benchmark, ("recall@1", "recall@5", "mrr"), json_path, dense)
