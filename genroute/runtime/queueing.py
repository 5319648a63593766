"""The broker side: the Celery application, the queues, sending messages, queue depth and a
Redis client for the broker URL. API and workers share this; workers add the task.

Settings follow DESIGN.md: late acks with reject-on-worker-lost so a killed worker's message is
redelivered (tasks are idempotent through the DB claim), prefetch 1 so a long generation never
strands a second task, and a visibility timeout above the hard limit so long tasks do not loop.
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import redis
from celery import Celery
from kombu import Queue

from genroute.observability.tracing import publish_span
from genroute.settings import Settings

GENERATE_TASK = "genroute.generate"
# kombu's Redis transport keeps delivered, unacknowledged messages here (its default names).
UNACKED, UNACKED_INDEX = "unacked", "unacked_index"
QUEUES = ("diffusion", "autoregressive", "fallback")
DEFAULT_PRIORITY = 5
# kombu's Redis transport keeps one list per priority step: "q", "q\x06\x163", ...; a message
# goes under the largest step not above its priority, and the steps are served in order.
PRIORITY_STEPS = (0, 3, 6, 9)
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def make_celery(settings: Settings, broker_url: str) -> Celery:
    app = Celery("genroute", broker=broker_url, set_as_current=False)
    transport_options = {
        "visibility_timeout": settings.visibility_timeout_s,
        # Getting a channel while the broker is away tries twice, half a second apart, then
        # fails (kombu's default retries forever, so a publish would hang the request that
        # made it); the sweeper sends what could not be published. Workers' consumers keep
        # reconnecting on their own schedule (broker_connection_max_retries).
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 0.5,
    }
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="autoregressive",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=settings.task_hard_time_limit_s,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_send_sent_event=True,
        worker_send_task_events=True,
        # Model load happens in worker_process_init; the default 4 s would kill the child.
        worker_proc_alive_timeout=300,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        enable_utc=True,
    )
    return app


@dataclass(frozen=True)
class Message:
    """One generate message: the task it names (also the message id), its queue, its priority
    (0 most urgent: kombu's Redis transport serves lower numbers first) and its task type,
    carried only so that Flower shows (and filters by) it."""

    task_id: uuid.UUID
    queue: str
    priority: int = DEFAULT_PRIORITY
    task_type: str | None = None
    # The request's trace context (W3C headers), carried in the message's headers.
    trace: dict[str, str] | None = None


# Redis commands one publish round trip carries (a message is its LPUSH and, with task-sent
# events on, its event's PUBLISH).
PUBLISH_BATCH_COMMANDS = 1000


def publish_many(app: Celery, messages: Sequence[Message]) -> None:
    """Send `messages` through one producer in pipelined Redis round trips (kombu's publish
    batch: each message's LPUSH and its task-sent event go out together, up to a thousand
    commands a trip, instead of two round trips a message). Callers go through
    `publish_committed`. No retrying here: with the broker away a publish fails at once, the
    tasks stay unpublished, and the sweeper sends them, so no request or worker waits on a
    broker outage."""
    for message in messages:
        if message.queue not in QUEUES:
            raise ValueError(f"unknown queue '{message.queue}', expected one of {QUEUES}")
    with (
        app.producer_or_acquire() as producer,
        producer.batch(max_size=PUBLISH_BATCH_COMMANDS),
    ):
        for message in messages:
            with publish_span(message.queue, message.task_id, message.trace) as headers:
                app.send_task(
                    GENERATE_TASK,
                    args=[str(message.task_id)],
                    kwargs={"task_type": message.task_type} if message.task_type else {},
                    queue=message.queue,
                    task_id=str(message.task_id),
                    priority=message.priority,
                    producer=producer,
                    retry=False,
                    headers=headers,
                )


def queue_lists(queue: str) -> list[str]:
    """The Redis lists that hold `queue`'s waiting messages, one per priority step."""
    return [queue + suffix for suffix in _PRIORITY_SUFFIXES]


def queue_depth(client: redis.Redis, queue: str) -> int:
    """Messages waiting on `queue`, across its priority lists."""
    return sum(int(client.llen(name)) for name in queue_lists(queue))


def delivered_per_queue(client: redis.Redis) -> dict[str, int]:
    """Messages delivered to a worker and not yet acknowledged, per queue: with late acks that
    is every task claimed ahead or running (kombu's `unacked` hash holds each as [message,
    exchange, routing key], and genroute routes each queue by its own name)."""
    counts: dict[str, int] = {}
    for entry in client.hvals(UNACKED):
        queue = json.loads(entry)[2]
        counts[queue] = counts.get(queue, 0) + 1
    return counts


def path_backlog(
    depths: Mapping[str, int],
    delivered: Mapping[str, int],
    path_queues: Mapping[str, Sequence[str]],
) -> dict[str, int]:
    """Per path, the work its workers hold or will: every priority list of its queues
    (`depths`, from queue_depth) plus what they were delivered and have not finished
    (`delivered`, from delivered_per_queue). What an autoscaler should scale on: a bare list
    length misses the priority lists and everything claimed ahead."""
    return {
        path: sum(depths.get(queue, 0) + delivered.get(queue, 0) for queue in queues)
        for path, queues in path_queues.items()
    }


def read_path_backlog(
    client: redis.Redis, path_queues: Mapping[str, Sequence[str]]
) -> dict[str, int]:
    """path_backlog as the broker holds it now."""
    depths = {queue: queue_depth(client, queue) for queue in QUEUES}
    return path_backlog(depths, delivered_per_queue(client), path_queues)


def redis_url(broker_url: str) -> str:
    """The redis-py URL of a kombu broker URL: kombu spells Unix sockets
    `redis+socket:///path?virtual_host=N`, redis-py `unix:///path?db=N`."""
    if broker_url.startswith("redis+socket://"):
        broker_url = "unix://" + broker_url.removeprefix("redis+socket://")
        broker_url = broker_url.replace("virtual_host=", "db=")
    return broker_url


def broker_database(broker_url: str) -> int:
    """The Redis database a kombu broker URL names (0 when it names none)."""
    if broker_url.startswith("redis+socket://"):
        return int(parse_qs(urlsplit(broker_url).query).get("virtual_host", ["0"])[0])
    return int(urlsplit(broker_url).path.strip("/") or 0)


def with_broker_database(broker_url: str, number: int) -> str:
    """The same Redis server, database `number`, in the broker URL's own spelling (a TCP URL
    keeps its query; a socket URL names the database as its virtual host)."""
    if broker_url.startswith("redis+socket://"):
        return f"{broker_url.split('?')[0]}?virtual_host={number}"
    return urlsplit(broker_url)._replace(path=f"/{number}").geturl()


def redis_from_broker_url(broker_url: str) -> redis.Redis:
    """A redis-py client on the broker's Redis."""
    return redis.Redis.from_url(redis_url(broker_url))
