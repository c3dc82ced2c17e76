"""Home page (ask box, recent approved articles, title search), asking, and the article list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vademecum.errors import InvalidQueryError
from vademecum.services.articles import answer_question
from vademecum.services.catalogue import ArticleSummary, list_articles
from vademecum.web.deps import ComposeDep, CsrfChecked, CurrentUser, RuntimeDep, templates
from vademecum.web.params import Offset

router = APIRouter(tags=["pages"])

RECENT = 10
PAGE_SIZE = 20
MAX_QUESTION_FORM = 20_000  # the engine refuses long questions with a reason; this only bounds the form


@dataclass(frozen=True)
class HomeContext:
    """Context of ``home.html``."""

    recent: tuple[ArticleSummary, ...] = field(metadata={"help": "Newest approved articles."})
    question: str = field(default="", metadata={"help": "The question to show again after a refusal."})
    error: str | None = field(default=None, metadata={"help": "Why the question was refused."})


@dataclass(frozen=True)
class ArticleListContext:
    """Context of ``articles.html``: a title search over every article, with each one's review state."""

    query: str
    items: tuple[ArticleSummary, ...]
    total: int
    offset: int
    limit: int
    error: str | None = None


def _home(request: Request, runtime: RuntimeDep, *, question: str = "", error: str | None = None) -> HTMLResponse:
    with runtime.session() as session:
        recent = list_articles(session, approved_only=True, limit=RECENT).items
    page = HomeContext(recent=recent, question=question, error=error)
    return templates.TemplateResponse(
        request=request, name="home.html", context={"page": page}, status_code=422 if error else 200
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Ask a question, read a recent approved article, or search the titles."""
    return _home(request, runtime)


@router.post("/ask", response_class=HTMLResponse)
def ask_submit(
    request: Request,
    runtime: RuntimeDep,
    compose: ComposeDep,
    user: CurrentUser,
    _: CsrfChecked,
    question: Annotated[str, Form(max_length=MAX_QUESTION_FORM)] = "",
) -> Response:
    """Find or compose the article for the question and go to it; a refused question shows why (422), a
    server busy composing others says when to ask again (503, Retry-After)."""
    try:
        answered = answer_question(runtime, question, user, compose=compose)
    except InvalidQueryError as error:  # QuestionRefused too: the reason is for the asker
        return _home(request, runtime, question=question, error=str(error))
    return RedirectResponse(f"/articles/{answered.article_id}", status_code=303)


@router.get("/articles", response_class=HTMLResponse)
async def article_list(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str, Query(description="Words of the title (the question).")] = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Every article whose title holds the words, newest first, with its review state."""
    error = None
    items: tuple[ArticleSummary, ...] = ()
    total = 0
    try:
        with runtime.session() as session:
            found = list_articles(session, query=q, limit=PAGE_SIZE, offset=offset)
        items, total = found.items, found.total
    except InvalidQueryError as refused:
        error = str(refused)
    page = ArticleListContext(query=q, items=items, total=total, offset=offset, limit=PAGE_SIZE, error=error)
    return templates.TemplateResponse(
        request=request, name="articles.html", context={"page": page}, status_code=422 if error else 200
    )
