"""Which tasks the broker still holds a live message for, read from kombu's Redis transport.

A queued task whose message is gone would otherwise wait for `republish_queued_after_s`
(half an hour) before the sweeper sends it again. Messages go missing in two ways the
database cannot see: Redis drops the connection between a consumer's BRPOP and its write to
the `unacked` hash (the message is in neither), and a worker dies holding a delivered message
it has not claimed yet, such as a retry waiting for its countdown (the message sits in
`unacked` until the visibility timeout, about 15 minutes). So a message counts as live when it
waits in a queue's lists or was delivered less than `delivered_within_s` ago.

Queues deeper than `scan_limit` are not read (the check would cost more than it saves); their
tasks are left to the long rule.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from genroute.runtime.queueing import UNACKED, UNACKED_INDEX, queue_depth, queue_lists

SCAN_LIMIT = 2000


@dataclass(frozen=True)
class Holdings:
    """The task ids with a live message, and the queues too deep to tell."""

    live: frozenset[str]
    too_deep: frozenset[str]

    def lost(self, task_id: str, queue: str) -> bool:
        return queue not in self.too_deep and task_id not in self.live


def broker_holdings(
    client: redis.Redis,
    queues: Iterable[str],
    delivered_within_s: float,
    scan_limit: int = SCAN_LIMIT,
) -> Holdings:
    """Read the queues' lists and the unacknowledged messages in one transaction, so a message
    moving from a list to `unacked` is seen in one place or the other."""
    depths = {queue: queue_depth(client, queue) for queue in queues}
    readable = [queue for queue, depth in depths.items() if depth <= scan_limit]
    pipe = client.pipeline(transaction=True)
    for name in (name for queue in readable for name in queue_lists(queue)):
        pipe.lrange(name, 0, scan_limit - 1)
    pipe.zrangebyscore(UNACKED_INDEX, time.time() - delivered_within_s, "+inf")
    pipe.hgetall(UNACKED)
    *lists, fresh_tags, unacked = pipe.execute()
    messages = [payload for entries in lists for payload in entries]
    # An unacknowledged entry is [message, exchange, routing key].
    messages += [json.loads(unacked[tag])[0] for tag in fresh_tags if tag in unacked]
    live = frozenset(filter(None, map(_task_id, messages)))
    return Holdings(live, frozenset(depths) - frozenset(readable))


def _task_id(payload: bytes | str | dict) -> str | None:
    """A Celery message's id, which genroute sets to its task's id."""
    message = json.loads(payload) if isinstance(payload, bytes | str) else payload
    return (message.get("headers") or {}).get("id")
