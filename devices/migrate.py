"""Schema migrations with Alembic; the environment ships in ``devices/migrations``.

At start ``prepare_database(engine)`` brings any database to the newest schema: an empty one
is created from the models (``metadata.create_all``) and stamped at head, a database created
before migrations existed (tables but no ``alembic_version``) is completed and stamped, and a
migrated one is upgraded to head. No alembic.ini is needed at run time.

The baseline keeps the fixed id ``0001`` so that databases stamped with an earlier baseline
stay "at head". It is regenerated from the models with one line::

    rm devices/migrations/versions/0001_*.py && python -m devices.migrate revision baseline 0001

Later changes are new revisions on top: ``python -m devices.migrate revision "what changed"``.
Until a table has a revision, ``prepare_database`` also creates missing tables after the upgrade
(``create_all`` only adds tables, never alters one), so a table added by a model appears on an
existing database at the next start; a changed column needs a revision.

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

from devices.db import Base, make_engine

__all__ = ["alembic_config", "head_revision", "import_models", "prepare_database"]

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6B76_6D69  # "kvmi": the advisory lock held while the schema is prepared


def import_models() -> None:
    """Import every module that defines a table: the composition root imports them all."""
    import access.users  # noqa: F401  (the app imports it; the platform does not)
    import gateway.platform  # noqa: F401


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
    """Create or upgrade the schema; returns what it did: created, adopted or upgraded."""
    import_models()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # two processes starting at once (gateway workers, a CLI) migrate one after the other
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        tables = set(inspect(conn).get_table_names())
        cfg = alembic_config(connection=conn)
        if "alembic_version" in tables and MigrationContext.configure(conn).get_current_revision():
            command.upgrade(cfg, "head")
            Base.metadata.create_all(conn)  # tables no revision knows yet (see above)
            outcome = "upgraded"
        else:
            Base.metadata.create_all(conn)
            command.stamp(cfg, "head")
            outcome = "adopted" if tables else "created"
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
