"""The demo works on data of its own: with embedded servers, in its own folder (DATA_DIR/demo),
where work left by an interrupted demo is cancelled before it starts; on configured servers,
it refuses to start while they hold unfinished work, which its workers would otherwise run
first (a benchmark's 6,000 leftover tasks once kept a 12-ticket demo busy for 17 minutes)."""

from sqlalchemy import text

from genroute.db.session import make_engine
from genroute.errors import GenrouteError
from genroute.runtime.queueing import QUEUES, queue_depth, redis_from_broker_url
from genroute.settings import Settings

_UNFINISHED = text("SELECT count(*) FROM tasks WHERE status IN ('queued', 'running')")
_CANCEL = text(
    """
    UPDATE tasks SET status = 'cancelled', finished_at = now(), updated_at = now(),
           error = 'left unfinished by an interrupted demo'
    WHERE status IN ('queued', 'running')
    """
)


def demo_settings(settings: Settings) -> Settings:
    """Where the demo's data lives: its own folder when its servers are embedded."""
    if not settings.uses_embedded_services():
        return settings
    return settings.model_copy(update={"data_dir": settings.data_dir / "demo"})


def clear_for_demo(live: Settings, own_servers: bool) -> int:
    """Make sure no earlier work waits for the demo's workers: on its own servers, cancel it
    and empty the queues (returns how many tasks); on configured ones, refuse."""
    engine = make_engine(live.database_url, pool_size=1)
    broker = redis_from_broker_url(live.broker_url)
    try:
        with engine.begin() as connection:
            unfinished = int(connection.execute(_UNFINISHED).scalar_one())
            queued = sum(queue_depth(broker, queue) for queue in QUEUES)
            if (unfinished or queued) and not own_servers:
                raise GenrouteError(
                    f"the configured servers hold {unfinished} unfinished tasks and {queued} "
                    "queued messages, which the demo's workers would run first: run the demo "
                    "on empty servers, or unset GENROUTE_DATABASE_URL and GENROUTE_BROKER_URL "
                    "so it starts embedded ones of its own"
                )
            connection.execute(_CANCEL)
        for queue in QUEUES:
            for key in broker.scan_iter(match=f"{queue}*"):
                broker.delete(key)
        return unfinished
    finally:
        broker.close()
        engine.dispose()
