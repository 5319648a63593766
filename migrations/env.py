"""Alembic environment: the URL and metadata come from the application, never from alembic.ini."""

from alembic import context
from sqlalchemy import create_engine, pool

from genroute.db.models import Base
from genroute.db.session import sqlalchemy_url

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL given to the migration environment")

engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
