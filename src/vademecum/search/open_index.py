"""The passage index the settings ask for, opened without importing what that choice does not need."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from vademecum.search.index import PassageIndex
from vademecum.search.shards import ShardedIndex, has_shards
from vademecum.settings import Settings


def open_passage_index(settings: Settings, sessions: sessionmaker[Session] | None = None) -> PassageIndex:
    """The passage index the settings ask for: hybrid when ``search.dense`` is on, else lexical only.

    When a cluster ingest has written index shards (and the store's ``sessions`` are given to tell which
    are committed), the lexical index is a :class:`ShardedIndex` searching the main index and the shards.
    """
    if settings.search.dense:
        # The dense stack (NumPy, the embedding store) is imported only when asked for: it was a tenth of
        # a cold `vademecum ask`, which never uses it by default.
        from vademecum.search.hybrid import HybridIndex

        return HybridIndex.for_settings(settings)
    if sessions is not None and has_shards(settings.index_dir):
        return ShardedIndex(settings.index_dir, settings.index, sessions)
    return PassageIndex(settings.index_dir, settings.index)
