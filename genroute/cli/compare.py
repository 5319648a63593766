"""`genroute compare`: may a candidate path take a task type from the incumbent? The promotion
gate's answer (genroute/analysis/promotion_gate.py) on the recorded outcomes, valid however
often it is asked from the same fixed start."""

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported where used: the CLI starts without the server's packages
    from sqlalchemy.orm import Session

    from genroute.analysis.promotion_gate import Evidence, GateVerdict
    from genroute.settings import Settings


@click.command()
@click.option("--task-type", required=True, help="The task type in question.")
@click.option(
    "--paths",
    "path_names",
    required=True,
    help="CANDIDATE,INCUMBENT: the path that would take over, then the one serving now.",
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Count tasks created from this fixed moment on (default: all). Keep it fixed while "
    "a comparison runs: the guarantee holds at any peek only for the same start.",
)
@click.option("--margin", default=0.05, show_default=True, help="Non-inferiority margin.")
@click.option("--alpha", default=0.05, show_default=True, help="Error level, at any peek.")
@click.option(
    "--max-attempt-cost",
    type=float,
    default=None,
    help="The most one attempt can cost (default: each path's GPU-hour rate over the hard "
    "time limit, twice for a judge); 0 leaves cost untested.",
)
@click.option(
    "--metric",
    type=click.Choice(["acceptance", "human"]),
    default="acceptance",
    show_default=True,
    help="acceptance: validators' verdicts (and cost); human: reviewers' blind preferences "
    "between the two paths' answers to the same inputs (the console's pairs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def compare(
    task_type: str,
    path_names: str,
    start: datetime | None,
    margin: float,
    alpha: float,
    max_attempt_cost: float | None,
    metric: str,
    as_json: bool,
) -> None:
    """Answer `promote`, `keep` or `not enough evidence (about N more outcomes needed)`: from
    shadow pairs (the same input on both paths) where there are any, else each path's first
    attempts at the task type (production, shadow and evaluation), which come from differently
    routed requests. An anytime-valid confidence sequence bounds the difference in acceptance
    (non-inferiority margin) and each path's cost per accepted output."""
    from genroute.cli.support import live_database
    from genroute.db.migrate import upgrade

    names = [name.strip() for name in path_names.split(",")]
    if len(names) != 2 or names[0] == names[1]:
        raise click.BadParameter(
            "name two different paths: CANDIDATE,INCUMBENT", param_hint="--paths"
        )
    with live_database() as (settings, sessions), sessions() as session:
        upgrade(settings.database_url)
        if metric == "human":
            evidence, bound = _preferences(session, task_type, names, start), 0.0
        else:
            evidence = _evidence(session, task_type, names, start)
            bound = (
                max_attempt_cost if max_attempt_cost is not None else _cost_bound(settings, names)
            )
    verdict = _judged(evidence, margin, alpha, bound)
    if as_json:
        body = {
            "task_type": task_type,
            "metric": metric,
            "start": start.isoformat() if start else None,
            "candidate": asdict(evidence.candidate),
            "incumbent": asdict(evidence.incumbent),
        }
        click.echo(json.dumps({**body, **asdict(verdict)}))
        return
    _print(task_type, evidence, verdict, margin, alpha, metric)


def _evidence(
    session: "Session", task_type: str, names: list[str], start: datetime | None
) -> "Evidence":
    """Shadow pairs between the two paths if there are any, else their first attempts."""
    from genroute.analysis.promotion_gate import Evidence, PathTally
    from genroute.db.path_outcomes import first_attempts, shadow_pairs

    mine, theirs = names
    pairs = shadow_pairs(session, task_type, mine, theirs, start)
    if pairs.pairs:
        return Evidence(
            PathTally(mine, pairs.pairs, pairs.candidate_accepted, pairs.candidate_cost),
            PathTally(theirs, pairs.pairs, pairs.incumbent_accepted, pairs.incumbent_cost),
            paired=True,
        )
    found = first_attempts(session, task_type, names, None, start=start)
    candidate, incumbent = (
        PathTally(name, found[name].outcomes, found[name].accepted, found[name].cost)
        if name in found
        else PathTally(name, 0, 0, 0.0)
        for name in names
    )
    return Evidence(candidate, incumbent)


def _preferences(
    session: "Session", task_type: str, names: list[str], start: datetime | None
) -> "Evidence":
    """Blind pairwise judgements as paired evidence: a path "accepts" a pair it won or tied,
    so the difference in acceptance is (candidate's wins - incumbent's wins) / pairs, and the
    gate promotes a candidate reviewers do not prefer less than by the margin."""
    from genroute.analysis.promotion_gate import Evidence, PathTally
    from genroute.db.pairwise import head_to_head

    mine, theirs = names
    judged = head_to_head(session, task_type, mine, theirs, start)
    return Evidence(
        PathTally(mine, judged.pairs, judged.candidate_wins + judged.ties, 0.0),
        PathTally(theirs, judged.pairs, judged.incumbent_wins + judged.ties, 0.0),
        paired=True,
    )


def _cost_bound(settings: "Settings", names: list[str]) -> float:
    """The most an attempt can cost on either path: it cannot hold the engine past the hard
    time limit, and a judge may hold one as long again."""
    from genroute.workers.engines.registry import load_paths

    paths = load_paths(settings.paths_file)
    rates = [paths[name].cost_per_gpu_hour for name in names if name in paths]
    return 2 * max(rates, default=0.0) * settings.task_hard_time_limit_s / 3600


def _judged(evidence: "Evidence", margin: float, alpha: float, bound: float) -> "GateVerdict":
    from genroute.analysis.promotion_gate import gate_verdict

    return gate_verdict(evidence, margin, alpha, bound if bound > 0 else None)


def _print(
    task_type: str,
    evidence: "Evidence",
    verdict: "GateVerdict",
    margin: float,
    alpha: float,
    metric: str,
) -> None:
    candidate, incumbent = evidence.candidate, evidence.incumbent
    click.echo(f"{task_type}: {candidate.path} (candidate) against {incumbent.path} (incumbent)")
    unit = "pairs" if evidence.paired else "outcomes"
    human = metric == "human"
    evidence_kind = "blind pairwise reviews" if human else verdict.evidence
    click.echo(f"  evidence: {evidence_kind}")
    for path in (candidate, incumbent):
        interval = verdict.cost_per_accepted[path.path]
        cost = f"[{interval[0]:.6g}, {interval[1]:.6g}]" if interval else "not tested"
        click.echo(
            f"  {path.path}: {path.outcomes} {unit}, {path.acceptance:.1%} "
            + ("preferred or tied" if human else f"accepted, cost per accepted output {cost}")
        )
    click.echo(
        f"  difference in {'preference' if human else 'acceptance'} {verdict.difference:+.3f}, "
        f"valid at any peek with "
        f"{1 - alpha:.0%}: [{verdict.lower:+.3f}, {verdict.upper:+.3f}] (margin {margin})"
    )
    more = verdict.more_outcomes_needed
    suffix = f" (about {more} more {unit} per path needed)" if more else ""
    click.echo(f"{verdict.decision}{suffix}: {verdict.reason}")
