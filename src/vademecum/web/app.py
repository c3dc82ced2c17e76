"""The web application, built from settings: pages, REST API, sign-in, and one mapping of errors to HTTP.

Where handlers run: the reads a reader makes (home, title search, an article's page and JSON, a stored
answer to a question) are ``async def`` and run their few indexed queries on the event loop, which spared
them two thread hand-offs each and put them ahead of everything slower; whatever can take long or wait
for a lock (composing, every write, a credential lookup that slides a session's expiry, the history,
diff, review and corpus pages) is a plain ``def`` and runs in the thread pool. A slow ``async`` read
would stall the worker's other requests: keep them to bounded, indexed queries.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from vademecum import __version__
from vademecum.errors import (
    AuthenticationError,
    ConflictError,
    InvalidQueryError,
    InvalidTransition,
    NotFoundError,
    NotIngestedError,
    PermissionDenied,
    ServiceBusy,
    SignInRequired,
    TooManyAttempts,
    VademecumError,
)
from vademecum.search.index import PassageIndex
from vademecum.services.accounts import ensure_first_admin
from vademecum.services.articles import Compose
from vademecum.services.ask import ask
from vademecum.services.composition import ComposerPool, CompositionLimit
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings, get_settings
from vademecum.web.cookies import StateCookieMiddleware
from vademecum.web.deps import CSRF_COOKIE, NEW_CSRF_TOKEN, CsrfError, authentication, resolve_authentication, templates
from vademecum.web.hardening import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    describe_refusals,
    in_path,
    validation_errors,
)
from vademecum.web.rendered import RenderedArticles
from vademecum.web.routers import (
    api_accounts,
    api_articles,
    api_corpus,
    pages_articles,
    pages_auth,
    pages_corpus,
    pages_edit,
    pages_home,
    pages_passages,
    pages_policy,
    pages_review,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
logger = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[VademecumError], int], ...] = (
    (TooManyAttempts, 429),
    (AuthenticationError, 401),
    (SignInRequired, 401),
    (PermissionDenied, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidTransition, 409),
    (InvalidQueryError, 422),
    (NotIngestedError, 503),
    (ServiceBusy, 503),
)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    # The page shows who is signed in. When the error came before the app resolved that (an unknown
    # route, a wrong method), a refused API token would raise again while rendering (a 500): it was
    # refused, so the page is shown as to an anonymous reader.
    with suppress(AuthenticationError):
        authentication(request)
    return templates.TemplateResponse(
        request=request, name="error.html", context={"status": status, "message": message}, status_code=status
    )


async def _vademecum_error(request: Request, error: Exception) -> Response:
    status = next((code for kind, code in _STATUS if isinstance(error, kind)), 500)
    anonymous = getattr(request.state, "auth", None) is None
    if (
        not _is_api(request)
        and isinstance(error, PermissionDenied)
        and anonymous
        and not isinstance(error, CsrfError)
        and request.method == "GET"
    ):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    retry_after = error.retry_after if isinstance(error, TooManyAttempts | ServiceBusy) else None
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if _is_api(request):
        return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)
    response = _error_page(request, status, str(error))
    response.headers.update(headers)
    return response


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if _is_api(request):
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
    return _error_page(request, error.status_code, str(error.detail))


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if _is_api(request):
        return JSONResponse({"detail": validation_errors(error)}, status_code=422)
    if in_path(error):
        return _error_page(request, 404, "no such page")
    reasons = "; ".join(f"{'.'.join(map(str, item['loc'][1:]))}: {item['msg']}" for item in validation_errors(error))
    return _error_page(request, 422, reasons)


def prepare_to_serve(settings: Settings) -> None:
    """What must happen once before any server worker starts: migrate the store, create the first admin
    (printing a generated password), and create the passage index when there is none yet.

    Run by ``vademecum serve`` before it starts its workers, so that they neither race to migrate nor
    each make an admin or an index. An app made with ``prepared=False`` (one process: tests, ``vademecum
    get``) migrates and makes the admin itself at start-up, and its index on first use.
    """
    runtime = open_runtime(settings)
    try:
        _first_admin(runtime)
    finally:
        runtime.close()
    PassageIndex(settings.index_dir, settings.index).close()


def _first_admin(runtime: Runtime) -> None:
    password = ensure_first_admin(runtime)
    if password is not None:
        # Shown once, on the console of whoever started the server; only its hash is stored.
        print(f"Created the first admin: user 'admin', password {password}  (shown only now)", flush=True)


def worker_app() -> FastAPI:
    """The app of one ``vademecum serve`` worker process: settings from the environment (the serving
    command's own), warmed up, over a store the command has already prepared (:func:`prepare_to_serve`)."""
    return create_app(get_settings(), warm_up=True, prepared=True, composer_processes=True)


def create_app(
    settings: Settings, *, warm_up: bool = False, prepared: bool = False, composer_processes: bool = False
) -> FastAPI:
    """A FastAPI app serving Vademecum's pages and REST API over the runtime built from ``settings``.

    ``warm_up`` opens the vocabularies and the index at start-up (seconds) instead of in the first
    question's request; the server does, tests need not. ``prepared`` says :func:`prepare_to_serve` has
    run (a server worker); otherwise the app migrates the store and creates the first admin at start-up.
    ``composer_processes`` composes articles in child processes of lower priority (as many as
    ``web.compose_slots``; the server does) instead of in the request's thread.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = open_runtime(settings, migrate=not prepared)
        app.state.runtime = runtime
        app.state.rendered = RenderedArticles()
        composers = ComposerPool(settings, settings.web.compose_slots) if composer_processes else None
        compose: Compose = composers or ask
        app.state.compositions = CompositionLimit(settings.web.compose_slots, settings.web.compose_queue, compose)
        if not prepared:
            _first_admin(runtime)
        if warm_up and settings.vocab_path.is_file():
            # Only the composers need the vocabularies; this process reads the store and the index.
            if composers is not None:
                composers.warm_up()
            else:
                runtime.vocabulary  # noqa: B018  (opened for its side effect)
            runtime.index.count()
        try:
            yield
        finally:
            if composers is not None:
                composers.close()
            runtime.close()

    # Every route resolves who is asking first, so a bad API token is refused everywhere, not only
    # where a route happens to need the user.
    # No /docs or /redoc: FastAPI's interactive pages load their scripts from a CDN; /openapi.json is served.
    app = FastAPI(
        title="Vademecum",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(resolve_authentication)],
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        pages_auth.router,
        pages_home.router,
        pages_articles.router,
        pages_edit.router,
        pages_passages.router,
        pages_review.router,
        pages_policy.router,
        pages_corpus.router,
        api_corpus.router,
        api_articles.router,
        api_accounts.router,
    ):
        app.include_router(router)
    app.add_exception_handler(VademecumError, _vademecum_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(
        BodyLimitMiddleware, json_bytes=settings.web.max_json_body_bytes, form_bytes=settings.web.max_form_body_bytes
    )
    app.add_middleware(SecurityHeadersMiddleware)
    generate_openapi = app.openapi
    app.openapi = lambda: describe_refusals(generate_openapi())  # type: ignore[method-assign]

    app.add_middleware(StateCookieMiddleware, web=settings.web, name=CSRF_COOKIE, state_key=NEW_CSRF_TOKEN)

    return app
