"""Alembic environment: runs on the connection handed over by ``vademecum.db.upgrade_database``,
or on ``sqlalchemy.url`` / ``VADEMECUM_DATABASE_URL`` when run from the alembic command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from vademecum.accounts import models as account_models  # noqa: F401  (registers the sign-in tables)
from vademecum.articles import models as article_models  # noqa: F401  (registers the editorial tables)
from vademecum.db import Base, create_db_engine
from vademecum.evidence import models  # noqa: F401  (registers the tables on Base.metadata)
from vademecum.settings import get_settings

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Run the migrations on ``connection``; batch mode lets SQLite alter tables."""
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    with create_db_engine(url).begin() as connection:
        run_migrations(connection)
