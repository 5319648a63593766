"""The Celery application and publishing. API and workers share this; workers add the task.

Settings follow DESIGN.md: late acks with reject-on-worker-lost so a killed worker's message is
redelivered (tasks are idempotent through the DB claim), prefetch 1 so a long generation never
strands a second task, and a visibility timeout above the hard limit so long tasks do not loop.
"""

import uuid

import redis
from celery import Celery
from kombu import Queue

from genroute.settings import Settings

GENERATE_TASK = "genroute.generate"
QUEUES = ("diffusion", "autoregressive", "fallback")
# kombu's Redis transport keeps one list per priority step: "q", "q\x06\x163", ...
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def make_celery(settings: Settings, broker_url: str) -> Celery:
    app = Celery("genroute", broker=broker_url, set_as_current=False)
    transport_options = {"visibility_timeout": settings.visibility_timeout_s}
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


def publish(app: Celery, task_id: uuid.UUID, queue: str, priority: int = 5) -> None:
    """Send the generate message for `task_id`; the message id is the task id."""
    publish_many(app, [(task_id, queue, priority)])


def publish_many(app: Celery, messages: list[tuple[uuid.UUID, str, int]]) -> None:
    """Send (task id, queue, priority) messages through one producer: one broker connection
    and channel for the whole batch instead of one per message."""
    for _task_id, queue, _priority in messages:
        if queue not in QUEUES:
            raise ValueError(f"unknown queue '{queue}', expected one of {QUEUES}")
    with app.producer_or_acquire() as producer:
        for task_id, queue, priority in messages:
            app.send_task(
                GENERATE_TASK,
                args=[str(task_id)],
                queue=queue,
                task_id=str(task_id),
                priority=priority,
                producer=producer,
            )


def queue_depth(client: redis.Redis, queue: str) -> int:
    """Messages waiting on `queue`, across its priority lists."""
    return sum(int(client.llen(queue + suffix)) for suffix in _PRIORITY_SUFFIXES)
