"""What a streamed chat completion may show, decided without I/O: the text that attempts relay
through the task's output stream goes to the client only where validation can no longer
refuse it.

Three ways to relay, chosen per call:
- `drafts` (the client opted in with `genroute.stream_drafts`): every attempt's text as it is
  generated, with `draft_rejected` when an attempt is refused or lost and `output_replaced`
  when the accepted output differs from its draft; the final chunk carries the accepted
  output. Only a client that reads those events can tell a draft from the answer.
- `live` (the default where the task type's checks are decided by the first non-blank text:
  nothing but emptiness can be refused): text as it is generated, leading and trailing
  blanks held back so the joined deltas are exactly the accepted output. An attempt that fails
  after its text was shown cannot be taken back: the stream ends with an error naming the task.
- `whole` (the default for every other task type): nothing until an attempt is accepted, then
  the accepted output. A plain client never sees a refused draft.
"""

import enum
from dataclasses import dataclass, field

from genroute.policies.catalog import TaskType


class RelayMode(enum.Enum):
    drafts = "drafts"
    live = "live"
    whole = "whole"


def relay_mode(task_type: TaskType, schema_required: bool, drafts_wanted: bool) -> RelayMode:
    """How a stream of this task type relays text (see the module's docstring)."""
    if drafts_wanted:
        return RelayMode.drafts
    return RelayMode.live if decided_by_first_text(task_type, schema_required) else RelayMode.whole


def decided_by_first_text(task_type: TaskType, schema_required: bool) -> bool:
    """True when no check of the task type can refuse an output that has non-blank text: only
    then may text be shown before the attempt ends. Length bounds, shapes, values, banned
    phrases, schemas, grounding, claims, judges, echoes and refused truncations all read the
    whole output."""
    rules = task_type.validation
    reads_whole = (
        rules.min_chars > 1,
        rules.max_chars is not None,
        rules.max_tokens is not None,
        rules.min_bullets is not None,
        rules.max_bullets is not None,
        rules.single_line,
        bool(rules.allowed_values),
        bool(rules.banned_phrases or rules.banned_patterns),
        rules.grounding,
        rules.claim_support is not None,
        rules.judge is not None,
        rules.not_echo,
        not rules.accept_truncated,
        schema_required or task_type.output_format == "json",
    )
    return not any(reads_whole)


@dataclass(frozen=True)
class Text:
    """Content for the client, from `attempt`."""

    attempt: int
    piece: str


@dataclass(frozen=True)
class DraftRejected:
    """(drafts mode) the attempt's draft was refused or lost; the next starts from nothing."""

    attempt: int
    reason: str


@dataclass(frozen=True)
class Interrupted:
    """(live mode) text of a failed attempt was shown: the stream must end in an error."""

    attempt: int
    reason: str


Event = Text | DraftRejected | Interrupted


@dataclass
class StreamRelay:
    """Turns the output stream's entries into what the client is shown, in `mode`."""

    mode: RelayMode
    _drafted: dict[int, str] = field(default_factory=dict)  # everything each attempt relayed
    _shown: dict[int, int] = field(default_factory=dict)  # characters of it shown (live)
    _ended: set[int] = field(default_factory=set)
    _gapped: set[int] = field(default_factory=set)  # attempts whose stream lost pieces
    _current: int | None = None

    def text(self, attempt: int, piece: str, offset: int | None = None) -> list[Event]:
        """A piece of `attempt`'s text at `offset` in it. A piece past what arrived means the
        stream lost some (trimmed, or a write failed): the attempt shows nothing more live,
        and the ending sends what the client still lacks."""
        events = self._switch_to(attempt)
        drafted = self._drafted.get(attempt, "")
        if attempt in self._gapped or (offset is not None and offset != len(drafted)):
            self._gapped.add(attempt)
            return events
        self._drafted[attempt] = drafted + piece
        if self.mode is RelayMode.drafts:
            events.append(Text(attempt, piece))
        elif self.mode is RelayMode.live and (shown := self._live_piece(attempt)):
            events.append(Text(attempt, shown))
        return events

    def end(self, attempt: int, accepted: bool, reason: str) -> list[Event]:
        events = self._switch_to(attempt)
        self._ended.add(attempt)
        if not accepted:
            events.extend(self._failed(attempt, reason))
        return events

    def rest_of(self, attempt: int, output: str) -> str | None:
        """What the client still needs to have seen exactly `output` from `attempt`; None when
        what it was shown is not a beginning of it (drafts mode: the output was replaced)."""
        if self.mode is RelayMode.whole:
            return output
        drafted = self._drafted.get(attempt, "")
        if self.mode is RelayMode.drafts:
            if not drafted:  # nothing streamed (a scored choice, or the relay was lost)
                return output
            same = drafted.strip() == output.strip() and attempt not in self._gapped
            return "" if same else None
        shown = drafted.lstrip()[: self._shown.get(attempt, 0)]
        return output[len(shown) :] if output.startswith(shown) else None

    def _switch_to(self, attempt: int) -> list[Event]:
        """A new attempt's entry while the current one never ended: its worker was lost."""
        events: list[Event] = []
        current = self._current
        if current is not None and current != attempt and current not in self._ended:
            self._ended.add(current)
            events.extend(self._failed(current, "the attempt was lost"))
        self._current = attempt
        return events

    def _failed(self, attempt: int, reason: str) -> list[Event]:
        if self.mode is RelayMode.drafts:
            return [DraftRejected(attempt, reason)]
        if self.mode is RelayMode.live and self._shown.get(attempt):
            return [Interrupted(attempt, reason)]
        return []  # nothing of it was shown: the next attempt starts clean

    def _live_piece(self, attempt: int) -> str:
        """The newly showable text: from the first non-blank character to the last one (the
        accepted output is stripped, so blanks at either end wait for more text)."""
        body = self._drafted[attempt].lstrip().rstrip()
        done = self._shown.get(attempt, 0)
        self._shown[attempt] = len(body)
        return body[done:]
