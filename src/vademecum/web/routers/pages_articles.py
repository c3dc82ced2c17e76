"""The article page (with its review actions), an article's history, and the diff between two versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from vademecum.answer.render import ReviewStatus
from vademecum.articles import policy
from vademecum.articles.diff import ArticleDiff, diff_articles
from vademecum.articles.models import (
    APPROVED,
    CHANGES_REQUESTED,
    STATE_LABELS,
    SUBMITTED,
    UNDER_REVIEW,
    User,
)
from vademecum.articles.workflow import APPROVE, EDIT, REGENERATE, RELEASE, REQUEST_CHANGES, REVIEW_ACTIONS, TAKE
from vademecum.errors import NotFoundError
from vademecum.inputs import MAX_DB_INT
from vademecum.services import articles as service
from vademecum.services.accounts import list_users
from vademecum.services.articles import ArticleHistory
from vademecum.services.catalogue import ArticleView, article_view
from vademecum.web.deps import ComposeDep, CsrfChecked, CurrentUser, RenderedDep, RuntimeDep, role_for, templates
from vademecum.web.params import ArticleId, VersionNumber, VersionQuery

router = APIRouter(tags=["pages"])

MAX_COMMENT = 5000
# The stepper has three steps; a version sent back stays on "Under Review" with its own badge.
_STEP_OF_STATE = {
    SUBMITTED: "Submitted",
    UNDER_REVIEW: "Under Review",
    APPROVED: "Approved",
    CHANGES_REQUESTED: "Under Review",
}
# URL segment of each review action.
_SLUG_OF_ACTION = {TAKE: "take", RELEASE: "release", APPROVE: "approve", REQUEST_CHANGES: "request-changes"}
_ACTION_OF_SLUG = {slug: action for action, slug in _SLUG_OF_ACTION.items()}
REVIEW_BUTTONS = {TAKE: "Take for review", RELEASE: "Release", APPROVE: "Approve", REQUEST_CHANGES: "Request changes"}


@dataclass(frozen=True)
class ArticlePageContext:
    """Context of ``article_page.html``.

    ``body`` is the rendered ``<article>`` (autoescaped by the article renderer); ``review_actions`` are
    the review steps the signed-in user may take on the shown version now (policy and workflow agree);
    ``can_regenerate``/``can_edit`` offer a new version of the current one.
    """

    view: ArticleView
    body: Markup
    review_actions: tuple[str, ...]
    can_regenerate: bool
    can_edit: bool


@dataclass(frozen=True)
class HistoryContext:
    """Context of ``history.html``: an article's versions and audit trail, with user names resolved."""

    view: ArticleView
    history: ArticleHistory
    names: dict[int, str]


@dataclass(frozen=True)
class DiffContext:
    """Context of ``diff.html``: two versions of an article and the sentence-level diff between them."""

    view: ArticleView
    old: ArticleView
    new: ArticleView
    diff: ArticleDiff


def review_status(view: ArticleView) -> ReviewStatus:
    """The header facts of a stored version: its state, the stepper step and the approved date."""
    return ReviewStatus(
        label=STATE_LABELS[view.status],
        step=_STEP_OF_STATE[view.status],
        last_updated=view.last_updated.date() if view.last_updated is not None else None,
        pending=view.pending,
    )


def _offered(session: Session, user: User | None, view: ArticleView) -> tuple[tuple[str, ...], bool, bool]:
    """What to offer ``user``: review actions on the shown version, and a new version of the current one."""
    if user is None:
        return (), False, False
    versions = {version.number: version for version in service.get_article(session, view.article_id).versions}
    shown = policy.actions_for(user, versions[view.version_number])
    current = policy.actions_for(user, versions[view.current_version_number])
    reviews = tuple(action for action in REVIEW_BUTTONS if action in shown)
    return reviews, REGENERATE in current, EDIT in current


@router.get("/articles/{article_id}", response_class=HTMLResponse)
async def article_page(
    request: Request,
    runtime: RuntimeDep,
    rendered: RenderedDep,
    user: CurrentUser,
    article_id: ArticleId,
    version: VersionQuery = None,
) -> HTMLResponse:
    """The article with its review status, references, and the review actions the user may take."""
    with runtime.session() as session:
        view = article_view(session, article_id, version_number=version)
        reviews, can_regenerate, can_edit = _offered(session, user, view)
    body = rendered.body(view, review_status(view))
    page = ArticlePageContext(
        view=view, body=body, review_actions=reviews, can_regenerate=can_regenerate, can_edit=can_edit
    )
    return templates.TemplateResponse(
        request=request,
        name="article_page.html",
        context={"page": page, "buttons": REVIEW_BUTTONS, "slugs": _SLUG_OF_ACTION},
    )


@router.post(
    "/articles/{article_id}/versions/{number}/{step}", dependencies=[role_for(*REVIEW_ACTIONS, what="review articles")]
)
def review_submit(
    runtime: RuntimeDep,
    user: CurrentUser,
    _: CsrfChecked,
    article_id: ArticleId,
    number: VersionNumber,
    step: str,
    expected_revision: Annotated[int | None, Form(ge=0, le=MAX_DB_INT)] = None,
    comment: Annotated[str, Form(max_length=MAX_COMMENT)] = "",
) -> Response:
    """Take, release, approve or request changes on one version, then go back to it."""
    if step not in _ACTION_OF_SLUG:
        raise NotFoundError(f"no review step {step!r}")
    with runtime.session() as session:
        service.review_version(
            session,
            user,
            article_id,
            number,
            _ACTION_OF_SLUG[step],
            comment=comment.strip() or None,
            expected_revision=expected_revision,
        )
    return RedirectResponse(f"/articles/{article_id}?version={number}", status_code=303)


@router.post("/articles/{article_id}/regenerate", dependencies=[role_for(REGENERATE)])
def regenerate_submit(
    runtime: RuntimeDep,
    compose: ComposeDep,
    user: CurrentUser,
    _: CsrfChecked,
    article_id: ArticleId,
    expected_revision: Annotated[int | None, Form(ge=0, le=MAX_DB_INT)] = None,
    comment: Annotated[str, Form(max_length=MAX_COMMENT)] = "",
) -> Response:
    """Compose the article again against the current corpus as a new version, then show that version."""
    state = service.regenerate(
        runtime, user, article_id, comment=comment.strip() or None, expected_revision=expected_revision, compose=compose
    )
    return RedirectResponse(f"/articles/{article_id}?version={state.version_number}", status_code=303)


@router.get("/articles/{article_id}/history", response_class=HTMLResponse)
def history_page(request: Request, runtime: RuntimeDep, article_id: ArticleId) -> HTMLResponse:
    """Every version (who made it, how, its review) and every audit entry of the article."""
    with runtime.session() as session:
        view = article_view(session, article_id)
        history = service.history(session, article_id)
        names = {info.user_id: info.username for info in list_users(session)}
    page = HistoryContext(view=view, history=history, names=names)
    return templates.TemplateResponse(request=request, name="history.html", context={"page": page})


@router.get("/articles/{article_id}/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    runtime: RuntimeDep,
    article_id: ArticleId,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_DB_INT, description="The older version number.")],
    to: Annotated[int, Query(ge=1, le=MAX_DB_INT, description="The newer version number.")],
) -> HTMLResponse:
    """What changed between two versions, sentence by sentence."""
    with runtime.session() as session:
        view = article_view(session, article_id)
        old = article_view(session, article_id, version_number=from_)
        new = article_view(session, article_id, version_number=to)
    page = DiffContext(view=view, old=old, new=new, diff=diff_articles(old.article_json, new.article_json))
    return templates.TemplateResponse(request=request, name="diff.html", context={"page": page})


def date_text(moment: dt.datetime) -> str:
    """A timestamp as a page shows it (UTC, to the minute)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = date_text
