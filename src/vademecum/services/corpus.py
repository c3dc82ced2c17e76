"""Corpus service: figures about what is stored and indexed."""

from __future__ import annotations

from dataclasses import dataclass

from vademecum.evidence.store import CorpusStats, corpus_stats
from vademecum.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class CorpusStatus:
    """The store's figures and the number of passages the index serves."""

    store: CorpusStats
    indexed_passages: int

    @property
    def is_empty(self) -> bool:
        """True before anything has been ingested."""
        return self.store.documents == 0


def corpus_status(runtime: Runtime) -> CorpusStatus:
    """Figures about the corpus: documents per kind and level, passages, last ingest run."""
    with runtime.session() as session:
        stats = corpus_stats(session)
    return CorpusStatus(store=stats, indexed_passages=runtime.index.count())
