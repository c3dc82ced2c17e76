"""Shared pieces of the security tests: the real app served by uvicorn on loopback, and users with tokens.

The probes of issue 12 are kept here as tests; each reproduces an attack and fails on the code before its
fix. They run on SQLite and PostgreSQL through the ``database_url`` fixture of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app_server import serving
from vademecum.services.runtime import Runtime
from vademecum.settings import Settings


@pytest.fixture
def live_server(settings: Settings, runtime: Runtime) -> Iterator[str]:
    """``vademecum serve``'s app under uvicorn on 127.0.0.1 over the test's store; yields its base URL.

    It listens on 127.0.0.1 and every loopback address reaches it, so a client bound to 127.0.0.2 is
    another client address as far as the app can tell.
    """
    with serving(settings) as url:
        yield url
