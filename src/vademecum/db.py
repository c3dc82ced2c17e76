"""Database plumbing: the declarative base with its naming convention, engines and sessions, migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints from the first migration on, so later migrations can refer to them
# (SQLAlchemy "Configuring Constraint Naming Conventions"; Alembic naming docs).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    """Base of every mapped class."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout."""
    # orjson: JSON columns are serialised for every stored passage and parsed for every article read,
    # and the stdlib codec is several times slower both ways.
    kwargs: dict[str, Any] = {"json_serializer": _json_serializer, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The one session factory of a process; web and CLI open their sessions from it."""
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_database(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is current)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    # Every command opens the store through here: comparing revisions costs a query, while a full
    # `alembic upgrade` imports its command machinery and the migration environment (about 0.2 s of
    # a cold `vademecum ask`).
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
