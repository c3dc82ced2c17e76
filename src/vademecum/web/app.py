"""The web application, built from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from vademecum import __version__
from vademecum.errors import InvalidQueryError
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings
from vademecum.web.routers import api_corpus, pages_corpus

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the corpus pages and API over the runtime built from ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = open_runtime(settings)
        try:
            yield
        finally:
            app.state.runtime.close()

    app = FastAPI(title="Vademecum", version=__version__, lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages_corpus.router)
    app.include_router(api_corpus.router)

    @app.exception_handler(InvalidQueryError)
    async def invalid_query(_request: Request, error: InvalidQueryError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    return app
