"""``vademecum ask``: compose the cited article answering a clinical question."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from vademecum.answer import render
from vademecum.cli.common import runtime_for_command
from vademecum.services.ask import ask as ask_service


class OutputFormat(StrEnum):
    """Output formats of an article."""

    MD = "md"
    JSON = "json"
    HTML = "html"


RENDERERS = {OutputFormat.MD: render.to_markdown, OutputFormat.JSON: render.to_json, OutputFormat.HTML: render.to_html}


def ask(
    question: Annotated[str, typer.Argument(help="The clinical question.")],
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.MD,
) -> None:
    """Answer a clinical question with a cited article from guidelines, FDA labels and research."""
    with runtime_for_command() as runtime:
        article = ask_service(runtime, question)
    typer.echo(RENDERERS[output](article))
