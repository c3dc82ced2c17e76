"""HTML pages about the corpus: statistics and a passage search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from vademecum.errors import InvalidQueryError
from vademecum.search.index import PassageHit
from vademecum.services.corpus import CorpusStatus, corpus_status
from vademecum.services.search import search_passages
from vademecum.web.deps import RuntimeDep, templates

router = APIRouter(tags=["pages"])


@dataclass(frozen=True)
class CorpusPageContext:
    """Context of ``corpus.html``."""

    status: CorpusStatus
    query: str = ""
    hits: list[PassageHit] = field(default_factory=list)
    error: str | None = None


@router.get("/corpus", response_class=HTMLResponse)
def corpus_page(
    request: Request, runtime: RuntimeDep, q: Annotated[str, Query(description="Passage search.")] = ""
) -> HTMLResponse:
    """Corpus statistics, with a passage search box."""
    context = CorpusPageContext(status=corpus_status(runtime), query=q)
    if q:
        try:
            context = CorpusPageContext(status=context.status, query=q, hits=search_passages(runtime, q))
        except InvalidQueryError as error:
            context = CorpusPageContext(status=context.status, query=q, error=str(error))
    return templates.TemplateResponse(request=request, name="corpus.html", context={"page": context})
