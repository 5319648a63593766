"""Database engine and session factory. One session per request or task; callers commit."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(database_url: str) -> str:
    """Pin the psycopg 3 driver for plain `postgresql://` URLs; refuse other dialects."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"only PostgreSQL is supported, got '{url.get_backend_name()}'")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def make_engine(
    database_url: str, pool_size: int = 5, max_overflow: int = 5, pool_timeout_s: float = 30.0
) -> Engine:
    """A pooled engine; past `pool_size + max_overflow` connections in use, a checkout waits up
    to `pool_timeout_s` and then raises sqlalchemy's TimeoutError."""
    # pre_ping: a worker idles through long generations and the server may drop connections.
    return create_engine(
        sqlalchemy_url(database_url),
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout_s,
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
