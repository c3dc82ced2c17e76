"""Search service: validate a query and rank passages from the index."""

from __future__ import annotations

from collections.abc import Sequence

from vademecum.errors import InvalidQueryError
from vademecum.records import DocumentKind
from vademecum.search.index import PassageHit
from vademecum.search.query import query_terms
from vademecum.services.runtime import Runtime


def search_passages(
    runtime: Runtime, query: str, *, kinds: Sequence[str] = (), limit: int | None = None
) -> list[PassageHit]:
    """Ranked passages for ``query``, optionally only of some document kinds.

    Raises InvalidQueryError for an empty or over-long query, an unknown kind or a bad limit.
    """
    settings = runtime.settings.search
    if len(query) > settings.max_query_chars:
        raise InvalidQueryError(f"query is {len(query):,} characters; the limit is {settings.max_query_chars:,}")
    if not query_terms(query):
        raise InvalidQueryError("query is empty: give some words to search for")
    known = {kind.value for kind in DocumentKind}
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise InvalidQueryError(f"unknown kind {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    limit = settings.default_limit if limit is None else limit
    if not 1 <= limit <= 1000:
        raise InvalidQueryError(f"limit must be between 1 and 1000, not {limit}")
    boosts = {"title": settings.title_boost, "section": settings.section_boost, "text": 1.0}
    return runtime.index.search(query, kinds=kinds, limit=limit, field_boosts=boosts)
