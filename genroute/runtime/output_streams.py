"""A task's output while it is being made, relayed from the worker to the API through a Redis
stream: each attempt's pieces of text (a token's, or a whole canvas's) and, once the attempt
is recorded, whether it was accepted. The stream is bounded (MAXLEN) and expires (TTL): it is
a relay for a caller who is listening, never the record (PostgreSQL holds that).

Writing never slows or fails an attempt: the engine thread only queues a piece; one thread
per worker process sends what has queued in one pipeline, an entry per piece (a piece is what
the client is shown as one chunk). Each text entry carries its offset in the attempt's text,
so a reader can tell when trimming (MAXLEN) or a lost write left a gap, rather than showing
text with a hole in it."""

import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field

import redis

from genroute.runtime.redis_keys import output_stream_key

log = logging.getLogger(__name__)

# Entry fields: the attempt's number, the kind ("text" or "end"), and the text with its offset
# in the attempt's text, or for an end whether the attempt was accepted and, if not, why.
ATTEMPT, KIND, TEXT, OFFSET, ACCEPTED, REASON = (
    "attempt",
    "kind",
    "text",
    "offset",
    "accepted",
    "reason",
)

Entry = dict[str, str | int]


@dataclass
class QueuedEntry:
    task_id: uuid.UUID
    entry: Entry
    sent: threading.Event | None = None  # set once the entry was sent (or given up on)


class OutputRelay:
    """The worker process's sender of output entries (see the module's docstring)."""

    def __init__(self, client: redis.Redis, max_entries: int, ttl_s: int) -> None:
        self._client = client
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._queue: queue.Queue[QueuedEntry | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="output-relay", daemon=True)
        self._thread.start()

    def writer(self, task_id: uuid.UUID, attempt_no: int) -> "OutputStreamWriter":
        return OutputStreamWriter(self, task_id, attempt_no)

    def add(self, task_id: uuid.UUID, entry: Entry) -> None:
        self._queue.put(QueuedEntry(task_id, entry))

    def add_and_wait(self, task_id: uuid.UUID, entry: Entry, timeout_s: float = 5.0) -> None:
        """Queue `entry` and wait until it (and all queued before it) was sent."""
        sent = threading.Event()
        self._queue.put(QueuedEntry(task_id, entry, sent))
        sent.wait(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while True:  # everything already waiting goes in the same pipeline
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._send(batch)
                    return
                batch.append(item)
            self._send(batch)

    def _send(self, batch: list[QueuedEntry]) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            for item in batch:
                key = output_stream_key(str(item.task_id))
                pipe.xadd(key, item.entry, maxlen=self._max_entries, approximate=True)
                pipe.expire(key, self._ttl_s)
            pipe.execute()
        except redis.RedisError as exc:  # the caller then gets the output when the task ends
            log.warning("relaying %d output entries failed: %s", len(batch), exc)
        for item in batch:
            if item.sent is not None:
                item.sent.set()


@dataclass
class OutputStreamWriter:
    """One attempt's entries, queued on the process's relay."""

    relay: OutputRelay
    task_id: uuid.UUID
    attempt_no: int
    _offset: int = field(default=0, init=False)

    def text(self, piece: str) -> None:
        if piece:
            entry = {ATTEMPT: self.attempt_no, KIND: "text", TEXT: piece, OFFSET: self._offset}
            self.relay.add(self.task_id, entry)
            self._offset += len(piece)

    def end(self, accepted: bool, reason: str = "") -> None:
        """The attempt's end, sent before this returns: the API reads the task's state when
        it sees an end, and must find every piece before it already there."""
        entry = {ATTEMPT: self.attempt_no, KIND: "end", ACCEPTED: int(accepted), REASON: reason}
        self.relay.add_and_wait(self.task_id, entry)
