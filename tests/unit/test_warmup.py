"""A worker's warm-up times a generation after the one that pays lazy set-up."""

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from genroute.interfaces import Generation, GenerationRequest
from genroute.workers.warmup import warm_up

SET_UP_S = 0.5


class FirstCallSetsUp:
    """An engine whose first generation pays a set-up (as kernels and caches do), then none."""

    name, model = "set-up-first", "m"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.calls += 1
        if self.calls == 1:
            time.sleep(SET_UP_S)
        now = datetime.now(UTC)
        return [Generation("hello", 5, 3 + self.calls, now, now, now, {}) for _ in requests]


def test_the_warm_up_times_the_generation_after_set_up() -> None:
    engine = FirstCallSetsUp()
    warmup = warm_up(engine)
    assert engine.calls == 2
    assert warmup is not None and warmup.tokens_out == 5  # the second generation's
    assert warmup.seconds < SET_UP_S  # the set-up is not in the estimate
