"""A path's backlog, the figure its autoscaler scales on, counts every priority list of its
queues and the messages its workers were delivered and hold unacknowledged (claimed ahead or
running), read from the real broker as kombu's Redis transport keeps them."""

import re
import uuid

import httpx
import pytest
from kombu import Connection

from genroute.local.stack import Stack
from genroute.runtime.queueing import (
    Message,
    make_celery,
    publish_many,
    read_path_backlog,
    redis_from_broker_url,
    with_broker_database,
)
from genroute.settings import Settings

pytestmark = pytest.mark.integration
PATH_QUEUES = {"diffusion": ("diffusion",), "autoregressive": ("autoregressive", "fallback")}


def test_the_backlog_counts_every_priority_and_what_workers_hold(settings: Settings) -> None:
    broker_url = with_broker_database(settings.broker_url, 2)
    client = redis_from_broker_url(broker_url)
    client.flushdb()
    celery = make_celery(settings, broker_url)
    messages = [Message(uuid.uuid4(), "diffusion", priority) for priority in (0, 3, 5, 9)]
    messages += [Message(uuid.uuid4(), "fallback", 2), Message(uuid.uuid4(), "autoregressive")]
    publish_many(celery, messages)
    try:
        assert client.llen("diffusion") < 4  # a bare list length misses the other priorities
        assert read_path_backlog(client, PATH_QUEUES) == {"diffusion": 4, "autoregressive": 2}
        with Connection(broker_url) as connection:
            held = connection.SimpleQueue("diffusion", no_ack=False)
            delivered = held.get(timeout=5)  # claimed ahead: out of the lists, not acknowledged
            assert read_path_backlog(client, PATH_QUEUES) == {"diffusion": 4, "autoregressive": 2}
            delivered.ack()
            assert read_path_backlog(client, PATH_QUEUES) == {"diffusion": 3, "autoregressive": 2}
            held.close()
    finally:
        client.flushdb()
        client.close()
        celery.close()


def test_the_api_exports_each_paths_backlog(stack: Stack) -> None:
    text = httpx.get(f"{stack.ops_url}/metrics", timeout=10).text
    exported = dict(re.findall(r'^genroute_path_backlog\{path="(\w+)"\} (\S+)$', text, re.M))
    assert set(exported) == {"autoregressive", "diffusion"}
    assert all(float(value) >= 0 for value in exported.values())
