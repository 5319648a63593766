"""Run Alembic migrations programmatically, so `genroute db upgrade` needs no alembic.ini."""

from alembic import command
from alembic.config import Config

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


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
