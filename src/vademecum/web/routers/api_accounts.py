"""JSON API about one's own account: create and revoke API tokens.

A signed-in user (browser session or an existing token) creates tokens acting as themselves; the secret is
in the response once and only its digest is stored. An admin may revoke anyone's token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from vademecum.errors import AuthenticationError
from vademecum.services.accounts import MAX_TOKEN_NAME, ApiTokenInfo, create_api_token, revoke_api_token
from vademecum.web.deps import CsrfChecked, CurrentUser, RuntimeDep

router = APIRouter(prefix="/api", tags=["accounts"])


class TokenIn(BaseModel):
    """A label for the new token, to tell tokens apart when revoking one."""

    name: str = Field(min_length=1, max_length=MAX_TOKEN_NAME)


class TokenOut(BaseModel):
    """A stored API token, without its secret."""

    token_id: int
    name: str
    prefix: str = Field(description="The secret's first characters, to recognise it.")
    username: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(TokenOut):
    """A new API token with its secret: send it as ``Authorization: Bearer <secret>``. Shown only once."""

    secret: str


def _token_out(info: ApiTokenInfo) -> dict[str, object]:
    return {
        "token_id": info.token_id,
        "name": info.name,
        "prefix": info.prefix,
        "username": info.username,
        "created_at": info.created_at,
        "last_used_at": info.last_used_at,
        "revoked_at": info.revoked_at,
    }


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(runtime: RuntimeDep, _: CsrfChecked, user: CurrentUser, body: TokenIn) -> NewTokenOut:
    """Create an API token acting as the signed-in user (401 when nobody is signed in)."""
    if user is None:
        # Not a role check: a token must act as someone, and an anonymous request names nobody.
        raise AuthenticationError("sign in (or send an API token) to create an API token")
    with runtime.session() as session:
        info, secret = create_api_token(session, user, user.username, body.name)
    return NewTokenOut(**_token_out(info), secret=secret)


@router.delete("/tokens/{token_id}")
def revoke_token(
    runtime: RuntimeDep,
    _: CsrfChecked,
    user: CurrentUser,
    token_id: Annotated[int, Path(description="The token's id.")],
) -> TokenOut:
    """Revoke an API token (its owner or an admin); it stops working at once."""
    with runtime.session() as session:
        info = revoke_api_token(session, user, token_id)
    return TokenOut(**_token_out(info))
