"""JSON API about the corpus: statistics and passage search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from vademecum.services.corpus import corpus_status
from vademecum.services.search import search_passages
from vademecum.web.deps import RuntimeDep

router = APIRouter(prefix="/api", tags=["corpus"])


class LastRunOut(BaseModel):
    """The newest ingest run."""

    id: int
    status: str
    started_at: str
    finished_at: str | None
    counts: dict[str, int]


class CorpusOut(BaseModel):
    """Corpus statistics."""

    documents: int
    documents_by_kind: dict[str, int]
    documents_by_level: dict[str, int]
    passages: int
    indexed_passages: int
    cited_works: int
    source_files: int
    retracted: int
    last_run: LastRunOut | None


class PassageOut(BaseModel):
    """A passage found by a search."""

    passage_id: int
    document_id: str
    score: float
    kind: str
    level: str
    year: int | None
    title: str
    section: str
    text: str


class SearchOut(BaseModel):
    """Search results."""

    query: str
    results: list[PassageOut] = Field(description="Best first.")


@router.get("/corpus")
def corpus(runtime: RuntimeDep) -> CorpusOut:
    """Documents per kind and level, passages, files, last ingest run."""
    status = corpus_status(runtime)
    store = status.store
    run = store.last_run
    return CorpusOut(
        documents=store.documents,
        documents_by_kind=store.documents_by_kind,
        documents_by_level=store.documents_by_level,
        passages=store.passages,
        indexed_passages=status.indexed_passages,
        cited_works=store.cited_works,
        source_files=store.source_files,
        retracted=store.retracted,
        last_run=None
        if run is None
        else LastRunOut(
            id=run.id,
            status=run.status,
            started_at=run.started_at.isoformat(),
            finished_at=run.finished_at.isoformat() if run.finished_at else None,
            counts=run.counts,
        ),
    )


@router.get("/search")
def search(
    runtime: RuntimeDep,
    q: Annotated[str, Query(description="Words to search for.")],
    kind: Annotated[list[str] | None, Query(description="Only these document kinds.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="How many passages (1-1000).")] = None,
) -> SearchOut:
    """Ranked passages for a query."""
    hits = search_passages(runtime, q, kinds=kind or (), limit=limit)
    return SearchOut(
        query=q,
        results=[
            PassageOut(
                passage_id=hit.passage.passage_id,
                document_id=hit.passage.document_id,
                score=hit.score,
                kind=hit.passage.kind,
                level=hit.passage.level,
                year=hit.passage.year,
                title=hit.passage.title,
                section=hit.passage.section,
                text=hit.passage.text,
            )
            for hit in hits
        ],
    )
