"""The first web page and the corpus API, over the ingested demo corpus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from vademecum.evidence.models import EvidenceDocument
from vademecum.services.runtime import open_runtime
from vademecum.settings import Settings
from vademecum.web.app import create_app


@pytest.fixture
def app_client(demo_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo_settings)) as client:
        yield client


def stored_counts(settings: Settings) -> dict[str, int]:
    runtime = open_runtime(settings)
    try:
        with runtime.session() as session:
            return dict(
                session.execute(select(EvidenceDocument.kind, func.count()).group_by(EvidenceDocument.kind)).all()
            )
    finally:
        runtime.close()


def test_corpus_api(app_client: TestClient, demo_settings: Settings):
    response = app_client.get("/api/corpus")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {
        "documents",
        "documents_by_kind",
        "documents_by_level",
        "passages",
        "indexed_passages",
        "cited_works",
        "source_files",
        "retracted",
        "last_run",
    }
    assert body["documents_by_kind"] == stored_counts(demo_settings)
    assert set(body["documents_by_kind"]) == {"guideline", "drug_label", "research", "drug_information"}
    assert body["indexed_passages"] > 0
    assert body["last_run"]["status"] == "completed"


def test_stats_page_shows_the_figures(app_client: TestClient, demo_settings: Settings):
    response = app_client.get("/corpus")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    counts = stored_counts(demo_settings)
    assert f"{counts['drug_label']:,}</td>" in response.text
    assert "drug label" in response.text
    assert f"{sum(counts.values()):,}</span> documents" in response.text


def test_search_page_escapes_source_text(app_client: TestClient):
    # The query's other words name the guideline's subject: "alert" alone finds a trial of alert systems.
    response = app_client.get("/corpus", params={"q": "<script>alert(1)</script> somatostatin analogue carcinoid"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text
    assert "Gastrointestinal Neuroendocrine Tumors" in response.text


def test_search_api_refuses_an_empty_query(app_client: TestClient):
    response = app_client.get("/api/search", params={"q": " "})
    assert response.status_code == 422
    assert response.json() == {"detail": "query is empty: give some words to search for"}


def test_empty_store_page(settings: Settings):
    with TestClient(create_app(settings)) as client:
        response = client.get("/corpus")
    assert response.status_code == 200
    assert "Nothing has been ingested yet" in response.text
