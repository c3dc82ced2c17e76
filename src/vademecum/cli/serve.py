"""``vademecum serve``: run the web app, in one worker process per core by default."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from vademecum.settings import get_settings
from vademecum.web.app import prepare_to_serve

MAX_WORKERS = 64
# uvicorn kills a worker that does not answer its health check within this many seconds. A worker warms up
# before answering (it starts a composer process and waits until that has opened its runtime), and uvicorn's
# default of 5 s killed every worker while it warmed up on a busy 2-core machine.
HEALTHCHECK_SECONDS = 60


def default_workers() -> int:
    """The cores this process may run on (all the machine's where the system cannot say, as on macOS)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: setting web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: setting web.port).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_WORKERS,
            help="Worker processes sharing the port, each with its own runtime and composition limit "
            "(default: the number of cores).",
        ),
    ] = None,
) -> None:
    """Serve the web app."""
    settings = get_settings()
    # Once, before any worker starts: the workers must not race to migrate or to create the first admin.
    prepare_to_serve(settings)
    # Workers are started by import string: uvicorn spawns fresh interpreters that build the app from the
    # same environment (the settings) this command read.
    uvicorn.run(
        "vademecum.web.app:worker_app",
        factory=True,
        host=host or settings.web.host,
        port=port or settings.web.port,
        workers=workers or default_workers(),
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )
