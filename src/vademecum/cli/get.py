"""``vademecum get PATH``: run one request through the web app in-process, without a server."""

from __future__ import annotations

from typing import Annotated

import typer

from vademecum.settings import get_settings
from vademecum.web.app import create_app


def get(path: Annotated[str, typer.Argument(help="Path to request, e.g. /api/corpus.")]) -> None:
    """Print the response body of GET PATH; exit 1 on an error status."""
    # Imported here: the test client pulls in httpx, which no other command needs.
    from fastapi.testclient import TestClient

    with TestClient(create_app(get_settings())) as client:
        response = client.get(path)
    typer.echo(response.text)
    if response.status_code >= 400:
        raise typer.Exit(1)
