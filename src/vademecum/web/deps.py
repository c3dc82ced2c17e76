"""Request dependencies: the runtime, the composition limit, who is asking, CSRF checks, and the templates.

Who is asking comes from an API token (``Authorization: Bearer vm_…``) or a browser session cookie;
anonymous visitors are readers. CSRF: a signed-in browser's token is stored with its session; an
anonymous browser gets a random token in its own cookie (double submit), so forms anyone may post (the
ask box, the sign-in form) are protected too. Token-authenticated API calls carry no ambient credential
and need no CSRF token; neither do anonymous API calls without cookies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from vademecum.accounts.secrets import new_secret, same
from vademecum.articles import policy
from vademecum.articles.models import STATE_LABELS, User
from vademecum.errors import PermissionDenied
from vademecum.services.accounts import Authenticated, authenticate_session, authenticate_token
from vademecum.services.composition import CompositionLimit
from vademecum.services.runtime import Runtime
from vademecum.web.rendered import RenderedArticles

SESSION_COOKIE = "vm_session"
CSRF_COOKIE = "vm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
NEW_CSRF_TOKEN = "new_csrf_token"  # request.state key of a token made for an anonymous visitor
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_UNKNOWN = object()

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
# The templates ship with the package and never change under a running server: checking each one's
# modification time on every render cost a tenth of a page's time under load.
templates.env.auto_reload = False


class CsrfError(PermissionDenied):
    """A state-changing request from a browser without the page's CSRF token."""


# The dependencies below that only read the app's state are ``async def``: FastAPI runs a plain ``def``
# dependency in its thread pool, and the hand-offs to and from that pool were a fifth of a read's time.


async def get_runtime(request: Request) -> Runtime:
    """The runtime the app was started with."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_rendered(request: Request) -> RenderedArticles:
    """The app's cache of rendered article bodies."""
    return request.app.state.rendered


RenderedDep = Annotated[RenderedArticles, Depends(get_rendered)]


async def get_compositions(request: Request) -> CompositionLimit:
    """The process's bounded composition (every route that composes an article goes through it)."""
    return request.app.state.compositions


ComposeDep = Annotated[CompositionLimit, Depends(get_compositions)]


def authentication(request: Request) -> Authenticated | None:
    """Who the request acts as (cached on the request); raises AuthenticationError for a bad API token."""
    cached = getattr(request.state, "auth", _UNKNOWN)
    if cached is not _UNKNOWN:
        return cached
    runtime: Runtime = request.app.state.runtime
    auth: Authenticated | None = None
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        request.state.auth = None  # a refused token stays refused for the rest of the request
        auth = authenticate_token(runtime, credential.strip())
    elif cookie := request.cookies.get(SESSION_COOKIE):
        auth = authenticate_session(runtime, cookie)
    request.state.auth = auth
    return auth


async def resolve_authentication(request: Request) -> Authenticated | None:
    """:func:`authentication` as every route's first dependency: an anonymous request (no token, no
    session cookie) is answered here; one with credentials is looked up in the store in the thread pool
    (the lookup may write: a session's expiry slides)."""
    if "authorization" not in request.headers and SESSION_COOKIE not in request.cookies:
        request.state.auth = None
        return None
    return await run_in_threadpool(authentication, request)


AuthenticationDep = Annotated[Authenticated | None, Depends(resolve_authentication)]


async def current_user(auth: AuthenticationDep) -> User | None:
    """The signed-in user or the API token's user; None for an anonymous reader."""
    return auth.user if auth is not None else None


CurrentUser = Annotated[User | None, Depends(current_user)]


def role_for(*actions: str, what: str | None = None) -> Any:
    """A route dependency refusing a caller whose role allows none of ``actions``: 401 when anonymous,
    403 for a signed-in user, whatever the item and its state (``what`` names the actions in the message).

    Given in the route's ``dependencies``, it runs before the route's other dependencies (the CSRF
    check) and before its path, query and body are validated, so a caller who may not act is told only
    that, never whether the item exists or what state it is in.
    """

    async def check(user: CurrentUser) -> None:
        policy.require_role(user, actions, what)

    return Depends(check)


def csrf_token(request: Request) -> str:
    """The CSRF token forms on this page must send back (an anonymous one is created and set as a cookie)."""
    auth = authentication(request)
    if auth is not None and auth.csrf_token is not None:
        return auth.csrf_token
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, NEW_CSRF_TOKEN, None)
    if not token:
        token = new_secret()
        setattr(request.state, NEW_CSRF_TOKEN, token)  # set on the response by the app's middleware
    return token


def csrf_input(request: Request) -> Markup:
    """The hidden form field carrying the CSRF token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(csrf_token(request)))


async def check_csrf(request: Request, auth: AuthenticationDep) -> None:
    """Refuse a state-changing browser request whose CSRF token is missing or wrong (CsrfError, 403)."""
    if auth is not None and auth.csrf_token is None:
        return  # API token: no cookie was involved
    if request.url.path.startswith("/api/") and SESSION_COOKIE not in request.cookies:
        return  # anonymous API client: no ambient credential to abuse
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    expected = auth.csrf_token if auth is not None else request.cookies.get(CSRF_COOKIE)
    if not same(supplied, expected):
        raise CsrfError("the form's security token is missing or out of date: reload the page and try again")


CsrfChecked = Annotated[None, Depends(check_csrf)]


def _current_user_of(request: Request) -> User | None:
    auth = authentication(request)
    return auth.user if auth is not None else None


templates.env.globals.update(
    csrf_input=csrf_input,
    csrf_token=csrf_token,
    current_user=_current_user_of,
    state_labels=STATE_LABELS,
)
