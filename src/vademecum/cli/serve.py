"""``vademecum serve``: run the web app."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from vademecum.settings import get_settings
from vademecum.web.app import create_app


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: setting web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: setting web.port).")] = None,
) -> None:
    """Serve the web app."""
    settings = get_settings()
    uvicorn.run(create_app(settings, warm_up=True), host=host or settings.web.host, port=port or settings.web.port)
