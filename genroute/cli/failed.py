"""`genroute failed list|requeue`: dead letters, with every attempt kept, and an operator's
fresh attempt budget for them."""

import json

import click

from genroute.cli.support import live_database


@click.group()
def failed() -> None:
    """Dead letters: tasks that ended failed, with every attempt kept."""


@failed.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def failed_list(limit: int, as_json: bool) -> None:
    """Show failed tasks, newest first."""
    from genroute.db.tasks import failed_tasks

    with live_database() as (_settings, sessions), sessions() as session:
        for task in failed_tasks(session, limit):
            row = {
                "id": str(task.id),
                "task_type": task.task_type,
                "route": task.route_path,
                "attempts": task.attempt_count,
                "finished_at": task.finished_at.isoformat() if task.finished_at else None,
                "error": task.error,
            }
            click.echo(json.dumps(row) if as_json else "  ".join(str(v) for v in row.values()))


@failed.command("requeue")
@click.argument("task_ids", nargs=-1, type=click.UUID)
@click.option("--queue", type=click.Choice(["diffusion", "autoregressive", "fallback"]))
@click.option("--attempts", default=None, type=click.IntRange(1, 20), help="Fresh attempts.")
def failed_requeue(task_ids: tuple, queue: str | None, attempts: int | None) -> None:
    """Give failed tasks a fresh attempt budget and queue them again."""
    from genroute.db.tasks import requeue_failed
    from genroute.runtime.publishing import message_for, publish_committed
    from genroute.runtime.queueing import make_celery

    with live_database() as (settings, sessions):
        app = make_celery(settings, settings.broker_url)
        for task_id in task_ids:
            with sessions.begin() as session:
                task = requeue_failed(session, task_id, queue, attempts or settings.max_attempts)
                message = message_for(task) if task else None
            if message is None:
                click.echo(f"{task_id}: not a failed task, left alone", err=True)
                continue
            publish_committed(app, sessions, [message])
            click.echo(f"{task_id}: requeued on {message.queue}")
