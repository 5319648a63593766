"""A worker's warm-up: two short generations once its engine is loaded, the second timed and
published with its readiness. A path nobody has measured yet then still has an estimate for
latency budgets (genroute.runtime.live_figures), and the first real request does not pay for
lazy set-up. The first generation is not timed: it pays that set-up (first kernels, caches,
allocations), which on a loaded machine took seconds and made a path look too slow for budgets
it meets."""

import logging
import time

from genroute.interfaces import Engine, GenerationRequest
from genroute.runtime.worker_registry import WarmUp

log = logging.getLogger(__name__)

# Short enough to add little to a worker's start, long enough to time decoding, not only set-up.
WARMUP_TOKENS = 16


def warm_up(engine: Engine) -> WarmUp | None:
    """The warm-up's time and what it produced; None (logged) if the engine failed it, so a
    worker whose model server is still starting is not held back by it."""
    request = GenerationRequest(
        "You are a helpful assistant.", "Say hello in one short sentence.", WARMUP_TOKENS
    )
    try:
        engine.generate([request])  # lazy set-up
        started = time.perf_counter()
        [generation] = engine.generate([request])
    except Exception as exc:  # an estimate is a nicety; serving is not
        log.warning("warm-up generation failed (%s); no cold estimate for this worker", exc)
        return None
    return WarmUp(
        seconds=round(time.perf_counter() - started, 4),
        tokens_out=generation.tokens_out,
        canvases=generation.facts.get("canvases"),
        canvas_length=generation.facts.get("canvas_length"),
    )
