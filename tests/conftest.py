"""Shared fixtures: the real corpus read in place, and a fresh data directory per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from vademecum.services.ingest import DEMO_VOCABULARY, compile_vocabulary_if_needed, demo_paths, ingest_paths
from vademecum.services.runtime import Runtime, open_runtime
from vademecum.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real demo corpus (../shared/corpus, or VADEMECUM_CORPUS), never copied into the repository."""
    path = Path(os.environ.get("VADEMECUM_CORPUS", REPO_ROOT.parent / "shared" / "corpus")).resolve()
    if not (path / "README.md").is_file():
        pytest.fail(f"corpus not found at {path}; set VADEMECUM_CORPUS")
    return path


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of the private PostgreSQL server `make test` starts (scripts/with-test-postgres)."""
    url = os.environ.get("VADEMECUM_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("VADEMECUM_TEST_DATABASE_URL is not set: run the tests through `make test`")
        pytest.skip("no test PostgreSQL server: run the tests through `make test`")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in tmp, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"test_{uuid.uuid4().hex}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path, database_url: str) -> Settings:
    """Settings with a fresh data directory in tmp and a fresh store on each database."""
    return Settings(home=tmp_path / "home", corpus=corpus_dir, database_url=database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime over an empty, migrated store and an empty index."""
    runtime = open_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Settings:
    """Settings whose data directory holds the whole demo corpus, ingested once per test session."""
    settings = Settings(home=tmp_path_factory.mktemp("demo-home"), corpus=corpus_dir)
    runtime = open_runtime(settings)
    try:
        compile_vocabulary_if_needed(runtime, corpus_dir / DEMO_VOCABULARY)
        report = ingest_paths(runtime, demo_paths(corpus_dir))
    finally:
        runtime.close()
    assert report.ok, report.problems
    return settings


@pytest.fixture(scope="module")
def demo_runtime(demo_settings: Settings) -> Iterator[Runtime]:
    """A runtime over the ingested demo corpus, one per test module (read it, do not change it)."""
    runtime = open_runtime(demo_settings)
    yield runtime
    runtime.close()
