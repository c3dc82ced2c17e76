"""``vademecum ask``: compose the cited article answering a clinical question."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from vademecum.answer import render
from vademecum.answer.article import SummaryStatus
from vademecum.cli.common import err_console, runtime_for_command
from vademecum.services.ask import ask as ask_service


class OutputFormat(StrEnum):
    """Output formats of an article."""

    MD = "md"
    JSON = "json"
    HTML = "html"


class Synthesis(StrEnum):
    """How the article is written: quotations only, or with a verified language-model summary."""

    EXTRACTIVE = "extractive"
    LLM = "llm"


RENDERERS = {OutputFormat.MD: render.to_markdown, OutputFormat.JSON: render.to_json, OutputFormat.HTML: render.to_html}


def ask(
    question: Annotated[str, typer.Argument(help="The clinical question.")],
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.MD,
    synthesis: Annotated[
        Synthesis | None,
        typer.Option(
            "--synthesis",
            help="`llm`: add a language-model summary verified against its cited passages (needs "
            "synthesis.base_url); default: the synthesis.mode setting.",
        ),
    ] = None,
) -> None:
    """Answer a clinical question with a cited article from guidelines, FDA labels and research."""
    with runtime_for_command() as runtime:
        article = ask_service(runtime, question, synthesis.value if synthesis else None)
    summary = article.summary
    if summary is not None and summary.status is not SummaryStatus.SHOWN:
        # The article is still printed: the summary is an addition, the quotations are the answer.
        err_console.print(f"no summary: {summary.note}; the extractive article follows", highlight=False)
    typer.echo(RENDERERS[output](article))
