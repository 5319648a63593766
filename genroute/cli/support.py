"""What several `genroute` commands share: logging set-up and a live database."""

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from genroute.observability.logs import configure_logging
from genroute.settings import Settings

if TYPE_CHECKING:  # sqlalchemy is the server extra's; a producer's install runs without it
    from sqlalchemy.orm import Session, sessionmaker


def setup_logging(level: str = "INFO") -> None:
    """JSON lines unless GENROUTE_LOG_FORMAT=text."""
    configure_logging(level, Settings().log_format)


@contextlib.contextmanager
def live_database() -> "Iterator[tuple[Settings, sessionmaker[Session]]]":
    """Live settings (embedded servers started if none are configured) and a session factory."""
    from genroute.db.session import make_engine, make_session_factory
    from genroute.local.embedded import services

    with services(Settings()) as live:
        engine = make_engine(live.database_url)
        try:
            yield live, make_session_factory(engine)
        finally:
            engine.dispose()
