"""`genroute scorecard`: per (path, task type, policy version) what routes deliver and cost."""

from datetime import timedelta

import click

from genroute.analysis.durations import parse_duration
from genroute.cli.support import live_database
from genroute.contract import DEFAULT_SCORECARD_BY, Purpose
from genroute.errors import GenrouteError


def since_option(value: str | None) -> timedelta | None:
    """--since as a timedelta (None: all history), or a usage error naming the option."""
    try:
        return parse_duration(value) if value else None
    except GenrouteError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc


@click.command()
@click.option("--since", default=None, help="Only requests created this long ago: 30m, 24h, 7d.")
@click.option(
    "--by",
    default=",".join(DEFAULT_SCORECARD_BY),
    show_default=True,
    help="Group by these, comma-separated: path, task_type, policy_version, input_modality.",
)
@click.option(
    "--purpose",
    type=click.Choice([p.value for p in Purpose]),
    default=None,
    help="Only this traffic.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scorecard as JSON.")
@click.option("--html", "html_file", default=None, help="Also write the HTML report here.")
@click.option(
    "--no-embeddings",
    is_flag=True,
    help="Skip near-duplicate and similarity figures (they load a sentence-embedding model).",
)
def scorecard(
    since: str | None,
    by: str,
    purpose: str | None,
    as_json: bool,
    html_file: str | None,
    no_embeddings: bool,
) -> None:
    """Requests, acceptance, validation failures, fallbacks, timeouts, latency, queue wait,
    time to first output, tokens/s, cost per request and per accepted output, human feedback
    and diversity, per group of finished requests."""
    from genroute.analysis.html_report import write_report
    from genroute.analysis.scorecard import build_scorecard, format_scorecard, parse_by
    from genroute.db.migrate import upgrade
    from genroute.policies import load_catalog

    window = since_option(since)
    try:
        groups = parse_by(by)
    except GenrouteError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from exc
    scorer = None
    if not no_embeddings:
        from genroute.analysis.diversity import similarity_figures

        scorer = similarity_figures
    with live_database() as (settings, sessions), sessions() as session:
        upgrade(settings.database_url)
        diverse = load_catalog(settings.task_types_file).diversity_task_types()
        card = build_scorecard(session, groups, window, purpose, None, diverse, scorer)
        if html_file:
            write_report(session, window, html_file)
    click.echo(card.model_dump_json(indent=2) if as_json else format_scorecard(card))
    if html_file:
        click.echo(f"HTML report: {html_file}", err=True)
