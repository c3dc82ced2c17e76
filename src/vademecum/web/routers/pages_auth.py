"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vademecum.errors import AuthenticationError, TooManyAttempts
from vademecum.inputs import forbidden_character
from vademecum.services.accounts import login, logout
from vademecum.web.cookies import delete_cookie, set_cookie
from vademecum.web.deps import SESSION_COOKIE, CsrfChecked, CurrentUser, RuntimeDep, templates

router = APIRouter(tags=["pages"])


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(request: Request, next_url: str, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(
        request=request, name="login.html", context={"next": next_url, "error": error}, status_code=status
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: CurrentUser, next: Annotated[str, Query()] = "/") -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    runtime: RuntimeDep,
    _: CsrfChecked,
    username: Annotated[str, Form(max_length=1000)],
    password: Annotated[str, Form(max_length=2000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and open a session; wrong details or too many tries show the form again."""
    target = safe_next(next)
    client = request.client.host if request.client is not None else "unknown"
    if forbidden_character(username) is not None:
        # No account has such a name (names are checked when made), and PostgreSQL cannot even compare
        # with a NUL: the same answer as any unknown name, without reaching the store.
        return _login_page(request, target, error="wrong user name or password", status=401)
    try:
        signed_in = login(runtime, username, password, client)
    except TooManyAttempts as error:
        response = _login_page(request, target, error=str(error), status=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except AuthenticationError as error:
        return _login_page(request, target, error=str(error), status=401)
    response = RedirectResponse(target, status_code=303)
    web = runtime.settings.web
    set_cookie(response, request, web, SESSION_COOKIE, signed_in.session_token, max_age=web.session_hours * 3600)
    return response


@router.post("/logout")
def logout_submit(request: Request, runtime: RuntimeDep, _: CsrfChecked) -> Response:
    """End the session and go home."""
    if token := request.cookies.get(SESSION_COOKIE):
        logout(runtime, token)
    response = RedirectResponse("/", status_code=303)
    delete_cookie(response, request, runtime.settings.web, SESSION_COOKIE)
    return response
