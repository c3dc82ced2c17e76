"""JSON API about one's own account: list, create and revoke API tokens.

A user signed in with their password (a browser session) creates tokens acting as themselves; the secret
is in the response once and only its digest is stored. A token cannot create tokens: one that leaked
could otherwise mint others that outlive its revocation. Anyone signed in (session or token) lists and
revokes their own tokens; an admin lists and revokes everyone's. Who may act is checked before anything
else: an anonymous request gets 401 whatever it names.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from vademecum.errors import PermissionDenied, SignInRequired
from vademecum.services.accounts import (
    MAX_TOKEN_NAME,
    ApiTokenInfo,
    Authenticated,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from vademecum.web.deps import AuthenticationDep, CsrfChecked, RuntimeDep
from vademecum.web.params import TokenId

router = APIRouter(prefix="/api", tags=["accounts"])


def signed_in(auth: AuthenticationDep) -> Authenticated:
    """Who the request acts as; SignInRequired (401) for an anonymous one, before anything else is read."""
    if auth is None:
        raise SignInRequired("sign in (or send an API token) to manage API tokens")
    return auth


def signed_in_with_password(auth: Annotated[Authenticated, Depends(signed_in)]) -> Authenticated:
    """A browser session (signed in with a password); PermissionDenied (403) for an API token."""
    if auth.csrf_token is None:
        raise PermissionDenied("an API token cannot create API tokens: sign in with your password to create one")
    return auth


SignedIn = Annotated[Authenticated, Depends(signed_in)]
SignedInWithPassword = Annotated[Authenticated, Depends(signed_in_with_password)]


class TokenIn(BaseModel):
    """A label for the new token, to tell tokens apart when revoking one."""

    name: str = Field(min_length=1, max_length=MAX_TOKEN_NAME)


class TokenOut(BaseModel):
    """A stored API token, without its secret; ``username`` is its owner."""

    token_id: int
    name: str
    prefix: str = Field(description="The secret's first characters, to recognise it.")
    username: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenListOut(BaseModel):
    """API tokens, newest first, without their secrets."""

    tokens: list[TokenOut]


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


@router.get("/tokens")
def list_tokens(auth: SignedIn, runtime: RuntimeDep) -> TokenListOut:
    """The caller's own API tokens (an admin's: everyone's), revoked ones included, never their secrets."""
    with runtime.session() as session:
        tokens = list_api_tokens(session, auth.user)
    return TokenListOut(tokens=[TokenOut(**_token_out(info)) for info in tokens])


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(auth: SignedInWithPassword, runtime: RuntimeDep, _: CsrfChecked, body: TokenIn) -> NewTokenOut:
    """Create an API token acting as the signed-in user: 401 when nobody is signed in, 403 for an API token."""
    with runtime.session() as session:
        info, secret = create_api_token(session, auth.user, auth.user.username, body.name)
    return NewTokenOut(**_token_out(info), secret=secret)


@router.delete("/tokens/{token_id}")
def revoke_token(auth: SignedIn, runtime: RuntimeDep, _: CsrfChecked, token_id: TokenId) -> TokenOut:
    """Revoke an API token (its owner or an admin); it stops working at once.

    401 when anonymous and 403 for someone else's token, for ids that exist and ids that do not alike.
    """
    with runtime.session() as session:
        info = revoke_api_token(session, auth.user, token_id)
    return TokenOut(**_token_out(info))
