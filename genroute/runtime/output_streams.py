"""A task's output while it is being made, relayed from the worker to the API through a Redis
stream: each attempt's pieces of text (a token's, or a whole canvas's) and, once the attempt
is recorded, whether it was accepted. The stream is bounded (MAXLEN) and expires (TTL): it is
a relay for a caller who is listening, never the record (PostgreSQL holds that)."""

import logging
import uuid
from dataclasses import dataclass, field

import redis

from genroute.runtime.redis_keys import output_stream_key

log = logging.getLogger(__name__)

# Entry fields: the attempt's number, the kind ("text" or "end"), and the text, or for an end
# whether the attempt was accepted and, if not, why.
ATTEMPT, KIND, TEXT, ACCEPTED, REASON = "attempt", "kind", "text", "accepted", "reason"


@dataclass
class OutputStreamWriter:
    """Writes one attempt's output to its task's stream. Writing never fails the attempt: on
    a Redis error the relay stops (the caller then gets the output when the task ends)."""

    client: redis.Redis
    task_id: uuid.UUID
    attempt_no: int
    max_entries: int
    ttl_s: int
    _broken: bool = field(default=False, init=False)
    _expiring: bool = field(default=False, init=False)

    def text(self, piece: str) -> None:
        if piece:
            self._add({ATTEMPT: self.attempt_no, KIND: "text", TEXT: piece})

    def end(self, accepted: bool, reason: str = "") -> None:
        self._add({ATTEMPT: self.attempt_no, KIND: "end", ACCEPTED: int(accepted), REASON: reason})

    def _add(self, entry: dict[str, str | int]) -> None:
        if self._broken:
            return
        key = output_stream_key(str(self.task_id))
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.xadd(key, entry, maxlen=self.max_entries, approximate=True)
            if not self._expiring or entry[KIND] == "end":
                pipe.expire(key, self.ttl_s)
            pipe.execute()
            self._expiring = True
        except redis.RedisError as exc:
            self._broken = True
            log.warning("relaying task %s's output stopped: %s", self.task_id, exc)
