"""Schema migrations with Alembic; the environment ships in ``devices/migrations``.

At start ``prepare_database(engine)`` brings a database to the newest schema by running the
revisions: an empty one is built by them from the baseline up, a migrated one is upgraded to
head. The schema is never made from the models at run time (``create_all`` belongs to tests), so
every database, new or upgraded, has the one history the revisions describe. A database with
tables but no ``alembic_version`` was not made by these migrations and is refused with a reason
rather than guessed at. No alembic.ini is needed at run time.

The baseline ``0001`` is frozen: it is the schema that was released, and databases in the field
are stamped with it. Never regenerate it. Every change to a model is a new revision on top::

    python -m devices.migrate revision "what changed"

``tests/test_devices_migrations.py`` fails when the models and the revisions disagree, and
upgrades a database made by the released code (with its data) to head.

``python -m devices.migrate upgrade [URL]`` and ``... current [URL]`` work on any database
(URL defaults to the settings' database).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from core.db import make_engine

__all__ = [
    "UnmanagedDatabaseError",
    "alembic_config",
    "head_revision",
    "import_models",
    "prepare_database",
]

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6B76_6D69  # "kvmi": the advisory lock held while the schema is prepared


class UnmanagedDatabaseError(RuntimeError):
    """The database has tables but no migration history: it was not made by kommunvakt."""


def import_models() -> None:
    """Import every module that defines a table, so that ``Base.metadata`` knows them all."""
    import access.audit
    import access.sessions
    import access.users  # noqa: F401
    import alerts.models  # noqa: F401
    import devices.models
    import devices.quarantine  # noqa: F401
    import ingest.deadletters  # noqa: F401
    import supervision.models  # noqa: F401


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("devices") / "migrations"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def prepare_database(engine: Engine) -> str:
    """Build or upgrade the schema by its revisions; returns what it did: created or upgraded."""
    import_models()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # two processes starting at once (gateway workers, a CLI) migrate one after the other
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        managed = MigrationContext.configure(conn).get_current_revision() is not None
        if tables and not managed:
            raise UnmanagedDatabaseError(
                f"the database has {len(tables)} tables but no migration history "
                "(alembic_version): it was not made by kommunvakt's migrations; "
                "use an empty database, or restore the one kommunvakt made"
            )
        command.upgrade(alembic_config(connection=conn), "head")
        outcome = "upgraded" if managed else "created"
    log.info("database schema %s (head %s)", outcome, head_revision())
    return outcome


def _main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("revision", "upgrade", "current"):
        print(__doc__)
        return 2
    if argv[0] == "revision":
        # autogenerate against an empty scratch SQLite: the revision creates every table
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
            message = argv[1] if len(argv) > 1 else "change"
            rev_id = argv[2] if len(argv) > 2 else None
            command.upgrade(alembic_config(url), "head")
            script = command.revision(
                alembic_config(url), message=message, autogenerate=True, rev_id=rev_id
            )
        for one in script if isinstance(script, list) else [script]:
            if one is not None and shutil.which("ruff"):
                subprocess.run(["ruff", "check", "-q", "--fix", one.path], check=False)
                subprocess.run(["ruff", "format", "-q", one.path], check=False)
        return 0
    if len(argv) > 1:
        url = argv[1]
    else:
        from gateway.settings import load_settings

        url = load_settings().db_url
    engine = make_engine(url)
    try:
        if argv[0] == "upgrade":
            print(prepare_database(engine))
        else:
            with engine.connect() as conn:
                print(MigrationContext.configure(conn).get_current_revision())
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(_main(sys.argv[1:]))
