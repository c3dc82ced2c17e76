"""The runtime both front-ends build from settings: engine, session factory and passage index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vademecum.answer.clinical import ClinicalVocabulary
from vademecum.answer.understand import CANDIDATE_CONFIDENCE
from vademecum.db import create_db_engine, create_session_factory, upgrade_database
from vademecum.errors import NotIngestedError
from vademecum.search.index import PassageIndex
from vademecum.search.open_index import open_passage_index
from vademecum.settings import Settings
from vademecum.vocab.abbreviations import AbbreviationDictionary
from vademecum.vocab.drugs import DrugLexicon
from vademecum.vocab.mesh import MeshVocabulary


@dataclass(frozen=True)
class Vocabulary:
    """The compiled MeSH and abbreviation vocabularies and the drug lexicon, opened once per process.

    All three query one read-only file through its indexes: opening takes milliseconds and its pages
    are shared by every process through the page cache.
    """

    mesh: MeshVocabulary
    abbreviations: AbbreviationDictionary
    drugs: DrugLexicon


@dataclass
class Runtime:
    """Everything a service call needs besides its arguments; one per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _index: PassageIndex | None = field(default=None, repr=False)
    _vocabulary: Vocabulary | None = field(default=None, repr=False)

    @property
    def index(self) -> PassageIndex:
        """The passage index, opened on first use: hybrid (lexical + dense) when ``search.dense`` is on,
        sharded when a cluster ingest wrote shards."""
        if self._index is None:
            self._index = open_passage_index(self.settings, self.sessions)
        return self._index

    @property
    def vocabulary(self) -> Vocabulary:
        """The vocabularies, opened on first use; raises NotIngestedError before the vocabulary is compiled."""
        if self._vocabulary is None:
            path = self.settings.vocab_path
            if not path.is_file():
                raise NotIngestedError(f"no compiled vocabulary at {path}: run `vademecum ingest --demo`")
            mesh = MeshVocabulary.open(path)
            # Question understanding picks among all of ADAM's senses by context, so it needs the
            # low-confidence ones too (vademecum.answer.understand.CANDIDATE_CONFIDENCE).
            abbreviations = AbbreviationDictionary.open(path, min_confidence=CANDIDATE_CONFIDENCE)
            self._vocabulary = Vocabulary(mesh, abbreviations, DrugLexicon.open(path, mesh))
            ClinicalVocabulary.of(mesh).prepare()
        return self._vocabulary

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        """Release the index writer and the database connections."""
        if self._index is not None:
            self._index.close()
        if self._vocabulary is not None:
            self._vocabulary.mesh.close()
            self._vocabulary.abbreviations.close()
            self._vocabulary.drugs.close()
        self.engine.dispose()


def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Create the data directory, migrate the store to the newest schema (unless ``migrate`` is false:
    a server worker, whose parent migrated before starting it), and return the runtime."""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.resolved_database_url)
    if migrate:
        upgrade_database(engine)
    return Runtime(settings=settings, engine=engine, sessions=create_session_factory(engine))
