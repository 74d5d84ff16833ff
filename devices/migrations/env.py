"""Alembic environment shipped inside the package (``script_location = devices:migrations``).

Run time: ``devices.migrate.prepare_database`` hands a connection in ``config.attributes``.
Command line (no alembic.ini needed): see ``devices/migrate.py`` for the one-liners.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from core.db import Base, make_engine
from devices.migrate import import_models

import_models()
config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (devices.migrate builds the config for you)")
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
