"""The editorial policy page: how articles are generated, reviewed, updated and corrected."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vademecum.web.deps import RuntimeDep, templates

router = APIRouter(tags=["pages"])

_BLANK_LINES = re.compile(r"\n\s*\n")


def policy_paragraphs(path: Path) -> list[str]:
    """The paragraphs (separated by blank lines) of an operator's policy text file."""
    text = path.read_text(encoding="utf-8")
    return [" ".join(part.split()) for part in _BLANK_LINES.split(text) if part.strip()]


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The built-in policy, or the paragraphs of ``web.editorial_policy_file`` when that is set."""
    path = runtime.settings.web.editorial_policy_file
    paragraphs = policy_paragraphs(path) if path is not None else None
    return templates.TemplateResponse(request=request, name="policy.html", context={"paragraphs": paragraphs})
