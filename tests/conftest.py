"""Shared fixtures: the real corpus read in place, and a fresh data directory per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    """Settings with a fresh data directory in tmp."""
    return Settings(home=tmp_path / "home", corpus=corpus_dir)


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


@pytest.fixture
def demo_runtime(demo_settings: Settings) -> Iterator[Runtime]:
    """A runtime over the ingested demo corpus (read it, do not change it)."""
    runtime = open_runtime(demo_settings)
    yield runtime
    runtime.close()
