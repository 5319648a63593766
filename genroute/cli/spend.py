"""`genroute spend` and `genroute budget set|list|remove`: what production requests cost,
and the US-dollar budgets that cap each key's or owner's spend per period."""

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from genroute.cli.scorecard import since_option
from genroute.cli.support import live_database
from genroute.contract.spend import (
    SPEND_GROUP_FIELDS,
    BudgetPeriod,
    BudgetState,
    BudgetSubject,
    SpendReport,
)
from genroute.errors import GenrouteError

if TYPE_CHECKING:  # the base install (client and enqueue) has no SQLAlchemy
    from sqlalchemy.orm import Session


@click.command()
@click.option("--since", default="24h", show_default=True, help="How far back: 30m, 24h, 7d.")
@click.option(
    "--by",
    default="owner,key,task_type,path",
    show_default=True,
    help="Group by these, comma-separated: owner, key, task_type, path.",
)
@click.option("--owner", default=None, help="Only this owner's requests and budgets.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def spend(since: str, by: str, owner: str | None, as_json: bool) -> None:
    """Every attempt's recorded cost (failed, refused, judged and cached ones included) per
    group, with the outputs that passed validation, the cost of each, and the budgets."""
    from genroute.db.spend import parse_spend_by, spend_report

    window = since_option(since)
    try:
        groups = parse_spend_by(by)
    except GenrouteError as exc:
        raise click.BadParameter(str(exc), param_hint="--by") from exc
    until = datetime.now(UTC)
    with live_database() as (_settings, sessions), sessions() as session:
        report = spend_report(session, until - window, until, groups, owner)
    click.echo(report.model_dump_json(indent=2) if as_json else format_spend(report))


def format_spend(report: SpendReport) -> str:
    """The report as a table, then the budgets."""
    lines = [f"spend {report.since:%Y-%m-%d %H:%M} .. {report.until:%Y-%m-%d %H:%M} UTC"]
    header = [*report.by, "attempts", "cost_usd", "accepted", "cached", "usd_per_accepted"]
    lines.append("  ".join(f"{name:>16}" for name in header))
    for row in report.rows:
        fields = row.model_dump()
        groups = [str(fields[SPEND_GROUP_FIELDS[name]]) for name in report.by]
        figures = [row.attempts, f"{row.cost_usd:.6f}", row.accepted_outputs, row.cached_outputs]
        per = f"{row.cost_per_accepted_usd:.6f}" if row.cost_per_accepted_usd is not None else "-"
        lines.append("  ".join(f"{str(v)[-16:]:>16}" for v in [*groups, *figures, per]))
    lines.append(f"total ${report.total_usd:.6f} for {report.accepted_outputs} accepted outputs")
    lines.extend(_budget_line(budget) for budget in report.budgets)
    return "\n".join(lines)


def _budget_line(budget: BudgetState) -> str:
    soft = f", soft ${budget.soft_limit_usd:.4f}" if budget.soft_limit_usd is not None else ""
    return (
        f"budget {budget.subject_kind.value} {budget.subject}: ${budget.spent_usd:.6f} spent, "
        f"${budget.held_usd:.6f} held of ${budget.limit_usd:.4f} a {budget.period.value}{soft} "
        f"({budget.state}; resets {budget.resets_at:%Y-%m-%d %H:%M} UTC)"
    )


@click.group()
def budget() -> None:
    """Spend budgets in US dollars per API key or owner; a submission past one answers 429
    budget_exceeded."""


def _subject(session: "Session", key: str | None, owner: str | None) -> tuple[BudgetSubject, str]:
    """The budget's subject from --key (an id or prefix) or --owner, exactly one."""
    from genroute.db.api_keys import key_by_id_or_prefix

    if (key is None) == (owner is None):
        raise click.UsageError("give exactly one of --key and --owner")
    if owner is not None:
        return BudgetSubject.owner, owner
    found = key_by_id_or_prefix(session, str(key))
    if found is None:
        raise click.BadParameter(f"no key with id or prefix {key!r}", param_hint="--key")
    return BudgetSubject.key, str(found.id)


@budget.command("set")
@click.option("--key", default=None, help="The API key's id or prefix.")
@click.option("--owner", default=None, help="Every key of this owner.")
@click.option("--usd", type=click.FloatRange(min=0), required=True, help="The limit, in USD.")
@click.option("--period", type=click.Choice([p.value for p in BudgetPeriod]), default="month")
@click.option("--soft", type=click.FloatRange(min=0), default=None, help="Warn past this.")
def budget_set(
    key: str | None, owner: str | None, usd: float, period: str, soft: float | None
) -> None:
    """Create or change a budget; spend already recorded this period counts."""
    from genroute.db.budgets import set_budget

    with live_database() as (_settings, sessions), sessions.begin() as session:
        kind, subject = _subject(session, key, owner)
        row = set_budget(session, kind, subject, usd, BudgetPeriod(period), soft)
        click.echo(f"budget {row.id}: {kind.value} {subject} ${usd:.4f} a {period}")


@budget.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def budget_list(as_json: bool) -> None:
    """Every budget with its current period's spend."""
    from genroute.db.budgets import budget_states

    with live_database() as (_settings, sessions), sessions.begin() as session:
        for state in budget_states(session, None):
            click.echo(state.model_dump_json() if as_json else _budget_line(state))


@budget.command("remove")
@click.option("--key", default=None, help="The API key's id or prefix.")
@click.option("--owner", default=None, help="The owner.")
def budget_remove(key: str | None, owner: str | None) -> None:
    """Remove a budget; its subject is uncapped from then on."""
    from genroute.db.budgets import remove_budget

    with live_database() as (_settings, sessions), sessions.begin() as session:
        kind, subject = _subject(session, key, owner)
        if not remove_budget(session, kind, subject):
            raise click.ClickException(f"no budget on {kind.value} {subject}")
    click.echo(json.dumps({"removed": {"kind": kind.value, "subject": subject}}))
