"""Run Alembic migrations programmatically, so `genroute db upgrade` needs no alembic.ini."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from genroute.db.session import make_engine
from genroute.settings import shipped_file

# Alembic runs env.py and the versions itself; they are located, not imported.
MIGRATIONS_DIR = shipped_file("genroute.migrations", "")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def revisions(database_url: str) -> tuple[set[str], set[str]]:
    """The database's current revisions and the shipped head revisions: equal once migrated.
    Pods start only then (`genroute db check` in their init container)."""
    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return current, heads


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
