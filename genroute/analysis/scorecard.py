"""The scorecard: per group of finished requests, what a route delivers and what it costs.
`build_scorecard` turns the grouped SQL figures into rows; `format_scorecard` prints them."""

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genroute.contract import (
    DEFAULT_SCORECARD_BY,
    DiversityFigures,
    Purpose,
    Scorecard,
    ScorecardRow,
)
from genroute.db.pairwise import preference_tallies
from genroute.db.rollups import SUMS
from genroute.db.scorecard import (
    DIMENSIONS,
    GroupKey,
    Window,
    grouped_figures,
    outputs_by_group,
    percentile,
)
from genroute.errors import RequestRejected

# Outputs embedded per group for near duplicates and similarity (~200 sentences/s on a CPU).
DIVERSITY_SAMPLE = 300

# A function that scores how alike a list of texts are (see genroute.analysis.diversity).
DiversityScorer = Callable[[list[str]], tuple[float, float]]


def parse_by(text: str) -> list[str]:
    """'path,task_type' as a list of dimensions, each checked (a clear error otherwise)."""
    by = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or len(set(by)) != len(by):
        raise RequestRejected(
            "by", f"'{text}': group by distinct names among {', '.join(DIMENSIONS)}"
        )
    return by


def _share(part: float | None, whole: float | None) -> float | None:
    return None if not whole or part is None else part / whole


def _float(value: Any) -> float | None:
    """A database average (a Decimal for integer columns) as a float; None stays None."""
    return None if value is None else float(value)


def _row(
    key: GroupKey,
    by: Sequence[str],
    sums: dict[str, Any],
    histograms: dict[str, dict[int, int]],
    in_flight: int,
    feedback: dict[str, Any],
) -> ScorecardRow:
    requests, accepted = int(sums["requests"]), int(sums["accepted"])
    cost = float(sums["cost"])
    reviewed = feedback.get("reviewed", 0)

    def quantile(metric: str, share: float) -> float | None:
        return percentile(histograms.get(metric, {}), share)

    return ScorecardRow(
        purpose=key[0],
        **dict(zip(by, key[1:], strict=True)),
        requests=requests,
        in_flight=in_flight,
        accepted=accepted,
        cached=int(sums.get("cached") or 0),
        acceptance_rate=_share(accepted, requests),
        validation_failure_rate=_share(sums["invalid"], sums["produced"]),
        fallback_rate=_share(sums["fell_back"], requests),
        timeout_rate=_share(sums["timeouts"], sums["attempts"]),
        latency_p50_s=quantile("latency", 0.5),
        latency_p95_s=quantile("latency", 0.95),
        latency_mean_s=_share(float(sums["latency_sum"]), requests),
        queue_wait_p50_s=quantile("queue_wait", 0.5),
        queue_wait_p95_s=quantile("queue_wait", 0.95),
        first_output_p50_s=quantile("first_output", 0.5),
        tokens_per_s=_share(float(sums["tokens"]), float(sums["token_seconds"])),
        attempts=int(sums["attempts"]),
        cost=cost,
        cost_per_request=_share(cost, requests),
        cost_per_accepted_output=_share(cost, accepted),
        human_reviewed=reviewed,
        human_acceptance_rate=_share(feedback.get("human_accepted"), reviewed),
        human_edit_rate=_share(feedback.get("edited"), reviewed),
        human_rejection_rate=_share(feedback.get("rejected"), reviewed),
        mean_edit_distance=feedback.get("mean_edit_distance"),
        mean_usefulness=_float(feedback.get("mean_usefulness")),
    )


def _diversity(
    outputs: int, distinct: int, sample: list[str], scorer: DiversityScorer | None
) -> DiversityFigures:
    near, similarity = scorer(sample) if scorer is not None and len(sample) >= 2 else (None, None)
    return DiversityFigures(
        outputs=outputs,
        exact_duplicate_rate=(outputs - distinct) / outputs if outputs else 0.0,
        sampled=len(sample) if near is not None else 0,
        near_duplicate_rate=near,
        mean_pairwise_similarity=similarity,
    )


def build_scorecard(
    session: Session,
    by: Sequence[str] = DEFAULT_SCORECARD_BY,
    since: timedelta | None = None,
    purpose: str | None = None,
    owner: str | None = None,
    diversity_task_types: Sequence[str] = (),
    diversity_scorer: DiversityScorer | None = None,
    eval_run: str | None = None,
) -> Scorecard:
    """The scorecard of tasks created in the last `since` (all time when None), grouped by
    purpose and `by`. Groups of `diversity_task_types` also get diversity figures (near
    duplicates and similarity only when a scorer is given). `eval_run` keeps one evaluation run."""
    now = session.execute(select(func.now())).scalar_one()
    start: datetime | None = now - since if since is not None else None
    window = Window(start, purpose, owner, eval_run)
    figures = grouped_figures(session, by, window)
    texts = outputs_by_group(session, by, window, diversity_task_types, DIVERSITY_SAMPLE)
    rows = []
    keys = set(figures["sums"]) | set(figures["in_flight"])
    for key in sorted(keys, key=lambda k: tuple(str(part) for part in k)):
        sums = figures["sums"].get(key) or dict.fromkeys(SUMS, 0)
        row = _row(
            key,
            by,
            sums,
            figures["histograms"].get(key, {}),
            figures["in_flight"].get(key, {}).get("in_flight", 0),
            figures["feedback"].get(key, {}),
        )
        if key in texts:
            row.diversity = _diversity(*texts[key], diversity_scorer)
        rows.append(row)
    _add_preferences(rows, preference_tallies(session, start, owner))
    return Scorecard(since=start, generated_at=now, by=list(by), rows=rows)


def _add_preferences(
    rows: list[ScorecardRow], tallies: dict[tuple[str, str], tuple[int, float]]
) -> None:
    """Each production row of one path and task type gets its blind pairwise figures."""
    for row in rows:
        if row.purpose != Purpose.production.value or not (row.path and row.task_type):
            continue
        comparisons, wins = tallies.get((row.path, row.task_type), (0, 0.0))
        if comparisons:
            row.preference_comparisons = comparisons
            row.preference_win_rate = wins / comparisons
            row.preference_interval = wilson_interval(wins, comparisons)


def wilson_interval(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share (95% by default): sound at small counts and at 0
    or 1, where the normal approximation is not."""
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    spread /= 1 + z * z / trials
    return (round(max(0.0, centre - spread), 4), round(min(1.0, centre + spread), 4))


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "rate":
        return f"{100 * value:.0f}%"
    if kind == "s":
        return f"{value:.2f}"
    if kind == "cost":
        return f"{value:.6f}"
    if kind == "num":
        return f"{value:.1f}"
    return str(value)


_COLUMNS = (
    ("requests", "requests", "int"),
    ("cached", "cached", "int"),
    ("accepted", "acceptance_rate", "rate"),
    ("invalid", "validation_failure_rate", "rate"),
    ("fallback", "fallback_rate", "rate"),
    ("timeout", "timeout_rate", "rate"),
    ("p50 s", "latency_p50_s", "s"),
    ("p95 s", "latency_p95_s", "s"),
    ("wait p50", "queue_wait_p50_s", "s"),
    ("wait p95", "queue_wait_p95_s", "s"),
    ("ttfo p50", "first_output_p50_s", "s"),
    ("tok/s", "tokens_per_s", "num"),
    ("cost/req", "cost_per_request", "cost"),
    ("cost/accepted", "cost_per_accepted_output", "cost"),
    ("human ok", "human_acceptance_rate", "rate"),
    ("edited", "human_edit_rate", "rate"),
)


def format_scorecard(card: Scorecard) -> str:
    """An aligned text table, one line per group, and diversity lines where computed."""
    header = ["purpose", *card.by, *(title for title, _, _ in _COLUMNS)]
    lines = [header]
    for row in card.rows:
        keys = [row.purpose, *(str(getattr(row, d)) for d in card.by)]
        lines.append(keys + [_cell(getattr(row, field), kind) for _, field, kind in _COLUMNS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )
    notes = []
    for row in card.rows:
        if row.diversity is not None:
            d = row.diversity
            group = "/".join(str(getattr(row, dim)) for dim in card.by)
            notes.append(
                f"diversity {row.purpose}/{group}: {d.outputs} outputs, exact duplicates "
                f"{_cell(d.exact_duplicate_rate, 'rate')}, near duplicates "
                f"{_cell(d.near_duplicate_rate, 'rate')} and mean similarity "
                f"{_cell(d.mean_pairwise_similarity, 's')} over {d.sampled} sampled"
            )
    return "\n".join([text, *notes]) if notes else text
