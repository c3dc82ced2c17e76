"""The Medical Advisory Board's review queue."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vademecum.articles import policy
from vademecum.articles.models import User, utcnow
from vademecum.articles.workflow import EDIT, REGENERATE, TAKE
from vademecum.errors import PermissionDenied
from vademecum.services.catalogue import review_queue
from vademecum.web.deps import CurrentUser, RuntimeDep, templates

router = APIRouter(tags=["pages"])

# The queue is for whoever works it: the policy lets them review, edit or regenerate.
_QUEUE_ACTIONS = (TAKE, EDIT, REGENERATE)


def may_work_queue(user: User | None) -> bool:
    """Whether ``user`` takes part in review or editing, so the queue concerns them."""
    return any(policy.can(user, action) for action in _QUEUE_ACTIONS)


def age_text(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago ``since`` was, in the largest whole unit (minutes, hours or days)."""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "just now"


@router.get("/review", response_class=HTMLResponse)
def queue_page(request: Request, runtime: RuntimeDep, user: CurrentUser) -> HTMLResponse:
    """Articles waiting for the board, oldest first in each state; stale approved articles too."""
    if not may_work_queue(user):
        raise PermissionDenied("the review queue is for editors, reviewers and admins: sign in")
    with runtime.session() as session:
        items = review_queue(session)
    now = utcnow()
    return templates.TemplateResponse(
        request=request,
        name="review.html",
        context={"items": items, "ages": [age_text(item.created_at, now) for item in items]},
    )
