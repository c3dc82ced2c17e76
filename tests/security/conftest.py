"""Shared pieces of the security tests: the real app served by uvicorn on loopback, and users with tokens.

The probes of issue 12 are kept here as tests; each reproduces an attack and fails on the code before its
fix. They run on SQLite and PostgreSQL through the ``database_url`` fixture of tests/conftest.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from vademecum.services.runtime import Runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """``vademecum serve``'s app under uvicorn on 127.0.0.1 over the test's store; yields its base URL.

    It listens on 127.0.0.1 and every loopback address reaches it, so a client bound to 127.0.0.2 is
    another client address as far as the app can tell.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
