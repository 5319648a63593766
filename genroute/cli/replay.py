"""`genroute replay`: what a candidate routing policy would change, before it ships."""

import json
from pathlib import Path

import click

from genroute.cli.scorecard import since_option


@click.command()
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The candidate policy YAML.",
)
@click.option("--since", default=None, help="Only requests created this long ago: 24h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay(policy_file: Path, since: str | None, as_json: bool) -> None:
    """Re-decide stored production requests under the candidate policy: how many would change
    path, by task type, and the expected acceptance, latency and cost per accepted output of
    the current and the candidate mix, from the measured (path, task type) figures (production
    traffic, else shadow copies, else evaluation runs). A rule with an adaptive share splits
    its requests by the share its controller settles at on the measured first attempts."""
    from sqlalchemy import func, select

    from genroute.analysis.replay import format_replay, load_requests, measured_figures
    from genroute.analysis.replay import replay as replay_requests
    from genroute.analysis.scorecard import build_scorecard
    from genroute.cli.support import live_database
    from genroute.db.migrate import upgrade
    from genroute.runtime.routing_policy import load_routing_policy
    from genroute.runtime.share_controller import settled_shares

    window = since_option(since)
    with live_database() as (settings, sessions), sessions() as session:
        upgrade(settings.database_url)
        candidate = load_routing_policy(settings, policy_file)
        card = build_scorecard(session, ["path", "task_type"], window)
        figures = measured_figures(card.rows)
        start = session.execute(select(func.now())).scalar_one() - window if window else None
        shares = settled_shares(session, candidate, window)
        report = replay_requests(load_requests(session, start), candidate, figures, shares)
    click.echo(json.dumps(report) if as_json else format_replay(report))
