"""The worker's output relay sends what queued together as few entries: consecutive pieces of
one attempt become one entry at the first piece's offset; ends and other attempts stay apart."""

import uuid

from genroute.runtime.output_streams import QueuedEntry, coalesced

TASK, OTHER = uuid.uuid4(), uuid.uuid4()


def _text(task: uuid.UUID, attempt: int, text: str, offset: int) -> QueuedEntry:
    return QueuedEntry(task, {"attempt": attempt, "kind": "text", "text": text, "offset": offset})


def test_pieces_of_one_attempt_queued_together_go_as_one_entry() -> None:
    end = QueuedEntry(TASK, {"attempt": 1, "kind": "end", "accepted": 0, "reason": "invalid"})
    queued = [
        _text(TASK, 1, "Hel", 0),
        _text(TASK, 1, "lo", 3),
        _text(OTHER, 1, "x", 0),
        _text(TASK, 1, "!", 5),
        end,
        _text(TASK, 2, "A", 0),
        _text(TASK, 2, "B", 1),
    ]
    merged = [(q.task_id, q.entry.get("text"), q.entry.get("offset")) for q in coalesced(queued)]
    assert merged == [
        (TASK, "Hello", 0),
        (OTHER, "x", 0),
        (TASK, "!", 5),
        (TASK, None, None),
        (TASK, "AB", 0),
    ]
