"""The tantivy passage index: schema, writing, and ranked passage search.

The index is derived data: it can always be rebuilt from the store
(:func:`vademecum.services.ingest.rebuild_index`). Its directory is named by the settings
that shape it (:meth:`IndexSettings.index_name`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from vademecum.search.query import content_terms, query_terms
from vademecum.settings import IndexSettings

TEXT_FIELDS = ("title", "section", "text")


@dataclass(frozen=True, slots=True)
class IndexedPassage:
    """What the index holds of one passage."""

    passage_id: int
    document_id: str
    kind: str
    title: str
    section: str
    text: str
    year: int | None
    level: str
    level_rank: int
    audience: str | None


@dataclass(frozen=True, slots=True)
class PassageHit:
    """A passage found by a search, with its score."""

    passage: IndexedPassage
    score: float


def build_schema() -> tantivy.Schema:
    """The passage schema: stemmed English text fields, raw keyword fields, numeric fast fields."""
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("passage_id", stored=True, indexed=True, fast=True)
    builder.add_text_field("document_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw")
    builder.add_text_field("level", stored=True, tokenizer_name="raw")
    builder.add_text_field("audience", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="en_stem")
    builder.add_integer_field("year", stored=True, indexed=True, fast=True)
    builder.add_integer_field("level_rank", stored=True, indexed=True, fast=True)
    return builder.build()


class PassageIndex:
    """A tantivy index of passages in one directory."""

    def __init__(self, path: Path, settings: IndexSettings) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.settings = settings
        self.schema = build_schema()
        self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self._writer: tantivy.IndexWriter | None = None

    # Writing -----------------------------------------------------------------------------

    @property
    def writer(self) -> tantivy.IndexWriter:
        """The open writer (tantivy allows one per index); created on first use."""
        if self._writer is None:
            self._writer = self._index.writer(
                heap_size=self.settings.writer_heap_bytes, num_threads=self.settings.writer_threads
            )
        return self._writer

    def add(self, passages: Iterable[IndexedPassage]) -> int:
        """Queue passages for indexing; returns how many. Visible after :meth:`commit`."""
        count = 0
        writer = self.writer
        for passage in passages:
            fields: dict[str, object] = {
                "passage_id": passage.passage_id,
                "document_id": passage.document_id,
                "kind": passage.kind,
                "level": passage.level,
                "title": passage.title,
                "section": passage.section,
                "text": passage.text,
                "level_rank": passage.level_rank,
            }
            if passage.year is not None:
                fields["year"] = passage.year
            if passage.audience is not None:
                fields["audience"] = passage.audience
            writer.add_document(tantivy.Document(**fields))
            count += 1
        return count

    def delete_document(self, document_id: str) -> None:
        """Queue the removal of every passage of a document."""
        self.writer.delete_documents_by_term("document_id", document_id)

    def clear(self) -> None:
        """Queue the removal of everything (before a rebuild)."""
        self.writer.delete_all_documents()

    def commit(self) -> None:
        """Make queued changes durable and visible."""
        if self._writer is not None:
            self._writer.commit()
            self._index.reload()

    def rollback(self) -> None:
        """Drop queued changes."""
        if self._writer is not None:
            self._writer.rollback()

    def close(self) -> None:
        """Release the writer lock, waiting for background merges."""
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    # Reading -----------------------------------------------------------------------------

    def searcher(self) -> tantivy.Searcher:
        """A searcher over every passage visible to searches (:class:`ShardedIndex` adds its shards)."""
        return self._index.searcher()

    def count(self) -> int:
        """Number of passages visible to searches."""
        return self.searcher().num_docs

    def query(
        self, text: str, *, kinds: Sequence[str] = (), field_boosts: dict[str, float] | None = None
    ) -> tantivy.Query | None:
        """The query :meth:`search` runs for ``text``: BM25 over the text fields, question words dropped.

        None when the text has no words.
        """
        terms = content_terms(text)
        if not terms:
            return None
        query = self._index.parse_query(
            " ".join(terms), default_field_names=list(TEXT_FIELDS), field_boosts=field_boosts or {}
        )
        if kinds:
            kind_filter = tantivy.Query.term_set_query(self.schema, "kind", list(kinds))
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, kind_filter)])
        return query

    def search(
        self,
        text: str,
        *,
        kinds: Sequence[str] = (),
        limit: int = 10,
        field_boosts: dict[str, float] | None = None,
    ) -> list[PassageHit]:
        """Rank passages for a free-text query (BM25 over title, section and text, question words dropped)."""
        query = self.query(text, kinds=kinds, field_boosts=field_boosts)
        if query is None or limit <= 0:
            return []
        searcher = self.searcher()
        result = searcher.search(query, limit, count=False)
        return [PassageHit(self._passage(searcher.doc(address)), score) for score, address in result.hits]

    def phrase_count(self, phrase: str) -> int:
        """How many passages contain ``phrase`` (as a phrase, after stemming) in their text."""
        terms = query_terms(phrase)
        if not terms:
            return 0
        query = self._index.parse_query('"' + " ".join(terms) + '"', default_field_names=["text"])
        return self.searcher().search(query, 1, count=True).count

    @staticmethod
    def _passage(document: tantivy.Document) -> IndexedPassage:
        values = document.to_dict()

        def first(name: str) -> object:
            found = values.get(name) or [None]
            return found[0]

        return IndexedPassage(
            passage_id=int(first("passage_id")),  # type: ignore[arg-type]
            document_id=str(first("document_id")),
            kind=str(first("kind")),
            title=str(first("title") or ""),
            section=str(first("section") or ""),
            text=str(first("text") or ""),
            year=first("year"),  # type: ignore[arg-type]
            level=str(first("level")),
            level_rank=int(first("level_rank")),  # type: ignore[arg-type]
            audience=first("audience"),  # type: ignore[arg-type]
        )
