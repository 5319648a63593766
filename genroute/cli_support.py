"""What several `genroute` commands share: logging set-up and a live database."""

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from genroute.settings import Settings


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"
    )
    # pgserver logs every pg_ctl call with its full output at INFO; httpx logs every request.
    for chatty in ("pgserver", "httpx"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


@contextlib.contextmanager
def live_database() -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """Live settings (embedded servers started if none are configured) and a session factory."""
    from genroute.db.session import make_engine, make_session_factory
    from genroute.embedded import services

    with services(Settings()) as live:
        engine = make_engine(live.database_url)
        try:
            yield live, make_session_factory(engine)
        finally:
            engine.dispose()
