"""Request dependencies: the runtime and the templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from vademecum.services.runtime import Runtime

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was started with."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
