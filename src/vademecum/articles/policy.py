"""Who may do what: the one editorial policy object (STYLE §5), asked by the service on every step.

Roles and what they may do (``ROLE_ACTIONS``):

=========  =====================================================================
role       actions
=========  =====================================================================
reader     read, ask (also an anonymous visitor: actor ``None``)
editor     reader's + edit, regenerate
reviewer   reader's + take, release, approve, request_changes
admin      every action, including manage_users
=========  =====================================================================

Two rules on top of the roles, for everyone including admins (four eyes on every approval):

* nobody may ``take`` or ``approve`` a version they generated or edited, nor one still holding a sentence
  they wrote, changed or removed in any version since the article's last approval
  (:func:`vademecum.articles.provenance.authored_by`);
* only the reviewer who took a version (or an admin) may ``release`` it.

The policy says nothing about states: whether the step exists from the current state is the workflow's
``TRANSITIONS`` (``InvalidTransition``), never a permission (``PermissionDenied``). Callers ask the role
(:meth:`EditorialPolicy.require_role`) before they look at any state, so someone who may not act learns
nothing about the item: an anonymous caller gets ``SignInRequired`` (401), a wrong role
``PermissionDenied`` (403), whatever the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from vademecum.articles.models import ADMIN, EDITOR, READER, REVIEWER, ArticleVersion, User
from vademecum.articles.provenance import authored_by
from vademecum.articles.workflow import (
    APPROVE,
    EDIT,
    REGENERATE,
    RELEASE,
    REQUEST_CHANGES,
    TAKE,
    TRANSITIONS,
    WORKFLOW_ACTIONS,
)
from vademecum.errors import PermissionDenied, SignInRequired

READ, ASK, MANAGE_USERS = "read", "ask", "manage_users"
ACTIONS: tuple[str, ...] = (READ, ASK, TAKE, RELEASE, APPROVE, REQUEST_CHANGES, REGENERATE, EDIT, MANAGE_USERS)

_READER_ACTIONS = frozenset({READ, ASK})
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    READER: _READER_ACTIONS,
    EDITOR: _READER_ACTIONS | {EDIT, REGENERATE},
    REVIEWER: _READER_ACTIONS | {TAKE, RELEASE, APPROVE, REQUEST_CHANGES},
    ADMIN: frozenset(ACTIONS),
}
# Actions refused to the author of the version acted on.
NOT_BY_AUTHOR: frozenset[str] = frozenset({TAKE, APPROVE})


def role_of(actor: User | None) -> str:
    """The actor's role; anonymous visitors are readers."""
    return actor.role if actor is not None else READER


class EditorialPolicy:
    """Permissions on articles and their versions; swap the object to change the rules in one place."""

    def can(self, actor: User | None, action: str, obj: ArticleVersion | None = None) -> bool:
        """Whether ``actor`` may do ``action`` to version ``obj`` (None for actions on no version)."""
        if action not in ROLE_ACTIONS.get(role_of(actor), frozenset()):
            return False
        if obj is None or actor is None:
            return True
        if action in NOT_BY_AUTHOR and authored_by(obj, actor.id) is not None:
            return False
        if action == RELEASE and role_of(actor) != ADMIN:
            return obj.review is not None and obj.review.reviewer_id == actor.id
        return True

    def actions_for(self, actor: User | None, obj: ArticleVersion | None = None) -> list[str]:
        """The actions to offer ``actor`` on ``obj``: permitted, and possible from the version's review state."""
        state = obj.review.status if obj is not None and obj.review is not None else None
        offered = []
        for action in ACTIONS:
            if action in WORKFLOW_ACTIONS and (state is None or (state, action) not in TRANSITIONS):
                continue
            if self.can(actor, action, obj):
                offered.append(action)
        return offered

    def require_role(self, actor: User | None, actions: Iterable[str], what: str | None = None) -> None:
        """Raise unless ``actor``'s role allows at least one of ``actions`` (whatever the item or its state):
        SignInRequired for an anonymous caller, PermissionDenied for a signed-in one. ``what`` names the
        actions in the message (default: the actions themselves)."""
        wanted = tuple(actions)
        allowed = ROLE_ACTIONS.get(role_of(actor), frozenset())
        if any(action in allowed for action in wanted):
            return
        self._refuse(actor, what or " or ".join(action.replace("_", " ") for action in wanted))

    def require(self, actor: User | None, action: str, obj: ArticleVersion | None = None) -> None:
        """Raise PermissionDenied (SignInRequired when anonymous) unless ``actor`` may do ``action`` to ``obj``."""
        if self.can(actor, action, obj):
            return
        if actor is not None and action in NOT_BY_AUTHOR and obj is not None:
            authored = authored_by(obj, actor.id)
            who = f"{actor.username} ({actor.role})"
            if authored is obj:
                raise PermissionDenied(f"{who} cannot {action} a version they generated or edited")
            if authored is not None:
                raise PermissionDenied(
                    f"{who} cannot {action} version {obj.number}: it still holds their edit of version "
                    f"{authored.number}, "
                    "made since the article was last approved; another reviewer must"
                )
        self._refuse(actor, action.replace("_", " "))

    @staticmethod
    def _refuse(actor: User | None, spoken: str) -> NoReturn:
        if actor is None:
            raise SignInRequired(f"an anonymous reader may not {spoken}: sign in or send an API token")
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not {spoken}")


POLICY = EditorialPolicy()
can = POLICY.can
actions_for = POLICY.actions_for
require = POLICY.require
require_role = POLICY.require_role
