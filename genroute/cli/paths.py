"""`genroute paths [rollback|restore]`: the rollback controller's state of every (path, task
type), and an operator's rollback or restore (recorded as manual)."""

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from genroute.cli.support import live_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from genroute.policies import RoutingPolicy
    from genroute.runtime.path_states import PathStateStore

PATH_NAMES = click.Choice(["diffusion", "autoregressive"])


@click.group(invoke_without_command=True)
@click.pass_context
def paths(context: click.Context) -> None:
    """Path states: every (path, task type) the rollback controller has seen; then every
    adaptive share of the policy as the controller last moved it."""
    if context.invoked_subcommand is not None:
        return
    from genroute.runtime.share_controller import share_views

    with _path_states() as (sessions, policy, store):
        states = store.all()
        if not states:
            click.echo("no outcomes recorded yet: every path is active")
        for (path, task_type), current in states.items():
            failures = sum(1 for ok in current.outcomes if not ok)
            window = f"{failures}/{len(current.outcomes)} failed"
            click.echo(
                f"{path:<15} {task_type:<20} {current.state.value:<12} "
                f"window {window}  cooldown {current.cooldown_s:g}s"
            )
        with sessions() as session:
            shares = share_views(session, policy)
    if shares:
        click.echo("adaptive shares (share of the rule's path, the rest on the other):")
    for view in shares:
        since = f"since {view.changed_at:%Y-%m-%d %H:%M:%S}" if view.changed_at else "start"
        click.echo(
            f"  {view.rule:<26} {view.task_type:<20} {view.path} {view.share:.3f} / "
            f"{view.other_path} {1 - view.share:.3f}  [{view.min:g}, {view.max:g}]  {since}: "
            f"{view.reason}"
        )


@paths.command("rollback")
@click.argument("path", type=PATH_NAMES)
@click.option("--task-type", default=None, help="Only this task type (default: all).")
def paths_rollback(path: str, task_type: str | None) -> None:
    """Stop sending new traffic to PATH; it probes again after the cooldown."""
    _force(path, task_type, "rolled_back")


@paths.command("restore")
@click.argument("path", type=PATH_NAMES)
@click.option("--task-type", default=None, help="Only this task type (default: all).")
def paths_restore(path: str, task_type: str | None) -> None:
    """Send PATH its full traffic again."""
    _force(path, task_type, "active")


def _force(path: str, task_type: str | None, state: str) -> None:
    from genroute.contract import PathName
    from genroute.policies.rollback import PathState
    from genroute.runtime.path_states import record_event

    with _path_states() as (sessions, policy, store):
        if not policy.can_roll_back(PathName(path)):
            raise click.UsageError(f"{path} is the fallback path; it cannot be rolled back")
        types = [task_type] if task_type else sorted(policy.catalog.task_types)
        with sessions.begin() as session:
            for name in types:
                transition = store.force(path, name, PathState(state))
                if transition is not None:
                    record_event(session, path, name, transition, manual=True)
                    click.echo(f"{path}/{name}: {transition.from_state} -> {transition.to_state}")


@contextlib.contextmanager
def _path_states() -> "Iterator[tuple[sessionmaker[Session], RoutingPolicy, PathStateStore]]":
    from genroute.policies import load_catalog, load_policy
    from genroute.runtime.path_states import PathStateStore
    from genroute.runtime.queueing import redis_from_broker_url

    with live_database() as (settings, sessions):
        policy = load_policy(settings.policy_file, load_catalog(settings.task_types_file))
        client = redis_from_broker_url(settings.broker_url)
        try:
            yield sessions, policy, PathStateStore(client, policy.rollback)
        finally:
            client.close()
