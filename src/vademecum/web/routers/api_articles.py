"""JSON API about articles: ask, list and read, versions and history, review transitions, new versions,
and exports (Markdown, HTML, JSON, RIS, BibTeX).

A thin adapter over :mod:`vademecum.services.articles` and :mod:`vademecum.services.catalogue`: who may do
what and which step the state allows are decided there, and their errors become HTTP statuses in
``web/app.py`` (403 permission, 404 not found, 409 wrong state or lost race, 422 bad input).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vademecum.answer.reference_export import to_bibtex, to_ris
from vademecum.answer.render import article_json_schema, to_html, to_json, to_markdown
from vademecum.articles.edits import load_article
from vademecum.articles.models import REVIEW_STATES
from vademecum.articles.workflow import EDIT, REGENERATE, REVIEW_ACTIONS
from vademecum.inputs import MAX_DB_INT
from vademecum.services import articles as service
from vademecum.services import catalogue
from vademecum.services.catalogue import MAX_PAGE, ArticleView
from vademecum.web.deps import ComposeDep, CsrfChecked, CurrentUser, RuntimeDep, role_for
from vademecum.web.params import ArticleId, Offset, VersionNumber, VersionQuery

router = APIRouter(prefix="/api", tags=["articles"])

ARTICLE_SCHEMA_NOTE = (
    "The versioned article JSON: its JSON Schema is served at /api/article-schema "
    "(the same as docs/article.schema.json)."
)
MAX_QUESTION = 2000
MAX_COMMENT = 5000

# The store's revision counters are 64-bit integers too.
ExpectedRevision = Annotated[int, Field(ge=0, le=MAX_DB_INT)] | None
SentencePosition = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


class BusyOut(BaseModel):
    """Composing is not possible now (503): every composition slot is taken (the Retry-After header says
    when to ask again), or nothing is ingested yet."""

    detail: str = Field(description="What to do, with the seconds to wait.")


# The composing routes' 503: every composition slot and queue place of the worker is taken.
BUSY_RESPONSE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": BusyOut,
        "description": "Busy composing other articles (or nothing ingested yet); ask again later.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    }
}


class ExportFormat(StrEnum):
    """The export formats, by file extension."""

    MD = "md"
    HTML = "html"
    JSON = "json"
    RIS = "ris"
    BIB = "bib"


# Media types (RIS and BibTeX have no registered type; these are the ones reference managers recognise).
EXPORT_MEDIA_TYPES: dict[ExportFormat, str] = {
    ExportFormat.MD: "text/markdown; charset=utf-8",
    ExportFormat.HTML: "text/html; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.RIS: "application/x-research-info-systems",
    ExportFormat.BIB: "application/x-bibtex; charset=utf-8",
}


# --- Schemas --------------------------------------------------------------------------------------------


class ExportLinks(BaseModel):
    """Where to download this version in each export format."""

    md: str
    html: str
    json_: str = Field(alias="json", serialization_alias="json")
    ris: str
    bib: str


class ArticleLinks(BaseModel):
    """Related addresses: the API resources and the web page of this version."""

    self_: str = Field(serialization_alias="self", description="This version in the API.")
    page: str = Field(description="The web page of this version.")
    versions: str
    history: str
    exports: ExportLinks


class VersionStatusOut(BaseModel):
    """A version number and its review state."""

    number: int
    status: str


class ArticleOut(BaseModel):
    """One version of an article with the article's review facts."""

    article_id: int
    question: str
    title: str
    version_id: int
    version_number: int
    status: str = Field(description=f"The shown version's review state: one of {', '.join(REVIEW_STATES)}.")
    created_at: dt.datetime = Field(description="When this version was made.")
    author: str | None = Field(description="Who generated or edited this version (None: the system, for a reader).")
    edited: bool = Field(description="Whether an editor changed sentences of this version.")
    reviewer: str | None
    review_comment: str | None
    review_revision: int = Field(description="Send back as expected_revision with a review transition.")
    article_revision: int = Field(description="Send back as expected_revision with an edit or a regeneration.")
    current_version_number: int
    approved_version_number: int | None
    last_updated: dt.datetime | None = Field(description="When the approved version was made; None until approved.")
    stale: bool = Field(description="Newer or higher-level evidence for the question has been ingested.")
    stale_reason: str | None
    versions: list[VersionStatusOut]
    links: ArticleLinks
    article: dict[str, Any] = Field(description=ARTICLE_SCHEMA_NOTE)


class AskIn(BaseModel):
    """A clinical question."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="The question, in plain words.")


class AskOut(ArticleOut):
    """The article answering a question: the stored one, or a new one waiting for review."""

    created: bool = Field(description="True when this request created the article (status 201).")


class ArticleSummaryOut(BaseModel):
    """One article in a list."""

    article_id: int
    question: str
    title: str
    status: str = Field(description="The current version's review state.")
    version_number: int = Field(description="The current version's number.")
    approved_version_number: int | None
    last_updated: dt.datetime | None
    stale: bool
    created_at: dt.datetime
    url: str


class ArticleListOut(BaseModel):
    """One page of articles, newest first, and how many match in all."""

    items: list[ArticleSummaryOut]
    total: int
    limit: int
    offset: int


class VersionOut(BaseModel):
    """One version in an article's history."""

    version_id: int
    number: int
    created_at: dt.datetime
    created_by: int | None = Field(description="The user id of whoever generated or edited it (None: the system).")
    source: str = Field(description="generated or edited")
    edited: bool
    status: str
    reviewer_id: int | None
    comment: str | None
    url: str


class VersionListOut(BaseModel):
    """An article's versions, oldest first."""

    article_id: int
    versions: list[VersionOut]


class AuditEntryOut(BaseModel):
    """One audit entry: who did what, when, from which state to which."""

    action: str = Field(description="A registered action name, e.g. vademecum.review.approve.")
    actor_id: int | None
    actor_name: str | None
    timestamp: dt.datetime
    version_id: int | None
    from_status: str | None
    to_status: str | None
    comment: str | None
    data: dict[str, Any]


class HistoryOut(BaseModel):
    """An article's versions and its audit trail in the order it was written."""

    article_id: int
    versions: list[VersionOut]
    entries: list[AuditEntryOut]


class TransitionIn(BaseModel):
    """A review step on one version."""

    action: Literal["take", "release", "approve", "request_changes"]
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)
    expected_revision: ExpectedRevision = Field(
        default=None,
        description="The review_revision you last saw; a different current one gives 409 instead of acting.",
    )


class NewVersionIn(BaseModel):
    """A regeneration of the article against the current corpus."""

    comment: str | None = Field(default=None, max_length=MAX_COMMENT)
    expected_revision: ExpectedRevision = Field(
        default=None, description="The article_revision you last saw; a different current one gives 409."
    )


class EditsIn(NewVersionIn):
    """An editor's changes to the current version's sentences."""

    edits: dict[SentencePosition, str | None] = Field(
        min_length=1,
        description="Sentence position (1 = first sentence in reading order) to its new text, or null to remove it.",
    )


# --- Adapters -------------------------------------------------------------------------------------------


def _article_url(article_id: int) -> str:
    return f"/api/articles/{article_id}"


def _version_url(article_id: int, number: int) -> str:
    return f"{_article_url(article_id)}/versions/{number}"


def _links(view: ArticleView) -> ArticleLinks:
    base = _article_url(view.article_id)
    exports = {fmt.value: f"{base}/export.{fmt.value}?version={view.version_number}" for fmt in ExportFormat}
    return ArticleLinks(
        self_=_version_url(view.article_id, view.version_number),
        page=f"/articles/{view.article_id}?version={view.version_number}",
        versions=f"{base}/versions",
        history=f"{base}/history",
        exports=ExportLinks(**exports),
    )


def _fields(item: Any) -> dict[str, Any]:
    """A service dataclass's fields by name (shallow), to build a response model from."""
    return {field.name: getattr(item, field.name) for field in fields(item)}


def _article_out(view: ArticleView) -> dict[str, Any]:
    return {
        **_fields(view),
        "title": str(view.article_json.get("title") or view.question),
        "versions": [VersionStatusOut(number=v.number, status=v.status) for v in view.versions],
        "links": _links(view),
        "article": view.article_json,
    }


def _view(runtime: RuntimeDep, article_id: int, version_number: int | None = None) -> ArticleView:
    with runtime.session() as session:
        return catalogue.article_view(session, article_id, version_number=version_number)


def _version_out(article_id: int, version: service.VersionInfo) -> VersionOut:
    return VersionOut(**_fields(version), url=_version_url(article_id, version.number))


# --- Routes ---------------------------------------------------------------------------------------------


@router.post(
    "/ask",
    status_code=status.HTTP_200_OK,
    responses={201: {"model": AskOut, "description": "Created."}, **BUSY_RESPONSE},
)
async def ask(
    runtime: RuntimeDep, compose: ComposeDep, _: CsrfChecked, user: CurrentUser, body: AskIn, response: Response
) -> AskOut:
    """The article answering ``question``: 200 with the stored article when the (normalised) question has
    one, else 201 with a new article whose version 1 waits for review. Anyone may ask. 503 with
    Retry-After when the server is composing as many new articles as it can."""
    # A stored answer is a read like any other (on the event loop); composing and storing a new article
    # take seconds and a write, in the thread pool.
    answered = service.find_answer(runtime, body.question, user) or await run_in_threadpool(
        service.answer_question, runtime, body.question, user, compose=compose
    )
    if answered.created:
        response.status_code = status.HTTP_201_CREATED
    return AskOut(**_article_out(_view(runtime, answered.article_id)), created=answered.created)


@router.get("/article-schema")
def article_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``article`` field of every article response."""
    return article_json_schema()


@router.get("/articles")
async def list_articles(
    runtime: RuntimeDep,
    q: Annotated[str, Query(description="Words that must all appear in the question (any case).")] = "",
    status_: Annotated[
        str | None, Query(alias="status", description=f"The current version's state: {', '.join(REVIEW_STATES)}.")
    ] = None,
    approved: Annotated[bool, Query(description="Only articles with an approved version.")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Page size, 1 to {MAX_PAGE}.")] = 20,
    offset: Offset = 0,
) -> ArticleListOut:
    """Articles whose question matches ``q``, newest first, with the total number of matches."""
    with runtime.session() as session:
        page = catalogue.list_articles(
            session, query=q, status=status_, approved_only=approved, limit=limit, offset=offset
        )
    return ArticleListOut(
        items=[ArticleSummaryOut(**_fields(item), url=_article_url(item.article_id)) for item in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/articles/{article_id}")
async def get_article(
    runtime: RuntimeDep,
    article_id: ArticleId,
    version: VersionQuery = None,
) -> ArticleOut:
    """The version readers see (the approved one if any, else the current one, pending review), or
    version ``version``."""
    return ArticleOut(**_article_out(_view(runtime, article_id, version)))


@router.get("/articles/{article_id}/versions")
def list_versions(runtime: RuntimeDep, article_id: ArticleId) -> VersionListOut:
    """Every version of the article, oldest first, with its review state."""
    with runtime.session() as session:
        history = service.history(session, article_id)
    return VersionListOut(article_id=article_id, versions=[_version_out(article_id, v) for v in history.versions])


@router.get("/articles/{article_id}/versions/{number}")
async def get_version(runtime: RuntimeDep, article_id: ArticleId, number: VersionNumber) -> ArticleOut:
    """Version ``number`` of the article."""
    return ArticleOut(**_article_out(_view(runtime, article_id, number)))


@router.get("/articles/{article_id}/history")
def get_history(runtime: RuntimeDep, article_id: ArticleId) -> HistoryOut:
    """The article's versions and every audit entry about it, in the order they were written."""
    with runtime.session() as session:
        history = service.history(session, article_id)
    return HistoryOut(
        article_id=article_id,
        versions=[_version_out(article_id, v) for v in history.versions],
        entries=[AuditEntryOut(**_fields(entry)) for entry in history.entries],
    )


@router.post(
    "/articles/{article_id}/versions/{number}/transitions",
    dependencies=[role_for(*REVIEW_ACTIONS, what="review articles")],
)
def transition(
    runtime: RuntimeDep,
    _: CsrfChecked,
    user: CurrentUser,
    article_id: ArticleId,
    number: VersionNumber,
    body: TransitionIn,
) -> ArticleOut:
    """Take, release, approve or send back version ``number``.

    403 when the user may not (wrong role, or approving a version they generated or edited), 409 when the
    version's state does not allow the step or someone else changed the review first.
    """
    with runtime.session() as session:
        service.review_version(
            session,
            user,
            article_id,
            number,
            body.action,
            comment=body.comment,
            expected_revision=body.expected_revision,
        )
    return ArticleOut(**_article_out(_view(runtime, article_id, number)))


@router.post(
    "/articles/{article_id}/regenerate",
    status_code=status.HTTP_201_CREATED,
    dependencies=[role_for(REGENERATE)],
    responses=BUSY_RESPONSE,
)
def regenerate(
    runtime: RuntimeDep,
    compose: ComposeDep,
    _: CsrfChecked,
    user: CurrentUser,
    article_id: ArticleId,
    body: Annotated[NewVersionIn | None, Body()] = None,
) -> ArticleOut:
    """Compose the question again against the current corpus as a new version, waiting for review."""
    request = body or NewVersionIn()
    state = service.regenerate(
        runtime,
        user,
        article_id,
        comment=request.comment,
        expected_revision=request.expected_revision,
        compose=compose,
    )
    return ArticleOut(**_article_out(_view(runtime, article_id, state.version_number)))


@router.post("/articles/{article_id}/edits", status_code=status.HTTP_201_CREATED, dependencies=[role_for(EDIT)])
def edit(runtime: RuntimeDep, _: CsrfChecked, user: CurrentUser, article_id: ArticleId, body: EditsIn) -> ArticleOut:
    """Rewrite or remove sentences of the current version, as a new (edited) version waiting for review.

    422 names a bad position or text; 409 when the article changed since ``expected_revision``.
    """
    with runtime.session() as session:
        state = service.edit_sentences(
            session, user, article_id, body.edits, comment=body.comment, expected_revision=body.expected_revision
        )
    return ArticleOut(**_article_out(_view(runtime, article_id, state.version_number)))


@router.get(
    "/articles/{article_id}/export.{fmt}",
    response_class=Response,
    responses={200: {"content": {media: {} for media in EXPORT_MEDIA_TYPES.values()}}},
)
def export(
    runtime: RuntimeDep,
    article_id: ArticleId,
    fmt: Annotated[ExportFormat, Path(description="md, html, json, ris (references) or bib (references).")],
    version: VersionQuery = None,
) -> Response:
    """The version as a download: the article as Markdown, HTML or JSON, or its references as RIS or BibTeX."""
    view = _view(runtime, article_id, version)
    article = load_article(view.article_json)
    render = {
        ExportFormat.MD: to_markdown,
        ExportFormat.HTML: to_html,
        ExportFormat.JSON: to_json,
        ExportFormat.RIS: to_ris,
        ExportFormat.BIB: to_bibtex,
    }[fmt]
    filename = f"vademecum-article-{view.article_id}-v{view.version_number}.{fmt.value}"
    return Response(
        content=render(article),
        media_type=EXPORT_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
