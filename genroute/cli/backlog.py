"""`genroute enqueue`: push a backlog file through the API in batches, optionally wait for
every result; `genroute sample-backlog` writes a realistic ticket backlog to try it on."""

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from genroute.settings import Settings


def _connection(api_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The API to talk to: the options, else what `genroute serve` left in the data folder."""
    if api_url and api_key:
        return api_url, api_key
    serve_file = Settings().data_dir / "serve.json"
    if serve_file.exists():
        served = json.loads(serve_file.read_text())
        return api_url or served["api_url"], api_key or served["api_key"]
    raise click.UsageError(
        "no API to talk to: pass --api-url and --api-key (or GENROUTE_API_URL and "
        "GENROUTE_API_KEY), or start one with `genroute serve`"
    )


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--task-type", required=True, help="Task type of every row.")
@click.option(
    "--format", "file_format", type=click.Choice(["auto", "jsonl", "csv"]), default="auto"
)
@click.option("--input-column", default="input", show_default=True)
@click.option("--id-column", default=None, help="Stable row id (default: row number).")
@click.option("--metadata-column", "metadata_columns", multiple=True, help="Repeatable.")
@click.option(
    "--attachment-column",
    default=None,
    help="Column of image or video paths (relative to FILE; several as a JSON list, or "
    "separated by ';' in CSV), uploaded and shown with the row.",
)
@click.option("--max-output-tokens", type=click.IntRange(1), default=None)
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--wait", is_flag=True, help="Wait for every task and write its result.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--timeout", "timeout_s", type=float, default=None, help="Seconds to wait at most.")
@click.option("--api-url", envvar="GENROUTE_API_URL", default=None)
@click.option("--api-key", envvar="GENROUTE_API_KEY", default=None)
def enqueue(
    file: Path,
    task_type: str,
    file_format: str,
    input_column: str,
    id_column: str | None,
    metadata_columns: tuple[str, ...],
    attachment_column: str | None,
    max_output_tokens: int | None,
    batch_size: int,
    wait: bool,
    out: Path | None,
    timeout_s: float | None,
    api_url: str | None,
    api_key: str | None,
) -> None:
    """Submit every row of FILE (JSONL or CSV) as a task. Safe to re-run after a crash: each
    row's idempotency key comes from the row, so nothing is submitted twice."""
    from tqdm import tqdm

    from genroute.client import Client
    from genroute.client.backlog import ColumnMap, read_backlog

    url, key = _connection(api_url, api_key)
    extra = {"max_output_tokens": max_output_tokens} if max_output_tokens else {}
    columns = ColumnMap(input_column, id_column, metadata_columns, attachments=attachment_column)
    rows = read_backlog(file, task_type, columns, file_format, extra)
    task_ids: dict[str, str] = {}
    rejected: list[dict[str, Any]] = []
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    with Client(url, key, batch_size=batch_size) as client:
        uploaded: dict[Path, str] = {}

        def upload(file: Path) -> str:
            if file not in uploaded:
                uploaded[file] = client.upload_file(file, "vision").id
            return uploaded[file]

        with tqdm(total=len(rows), desc="submitted", unit="task", file=sys.stderr) as bar:
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                requests = [row.with_uploads(upload) for row in chunk]
                for row, item in zip(chunk, client.submit_many(requests), strict=True):
                    counts[item.outcome] += 1
                    if item.task is not None:
                        task_ids[row.row_id] = str(item.task.id)
                    else:
                        errors = [e.model_dump() for e in item.errors]
                        rejected.append({"row": row.row_id, "status": "rejected", "errors": errors})
                bar.update(len(chunk))
        click.echo(
            f"{counts['accepted']} new, {counts['duplicate']} already submitted, "
            f"{counts['rejected']} rejected",
            err=True,
        )
        finished = _write_results(client, task_ids, rejected, out, wait, timeout_s)
    if rejected or (wait and finished < len(task_ids)):
        sys.exit(1)


def _write_results(
    client: Any,
    task_ids: dict[str, str],
    rejected: list[dict[str, Any]],
    out: Path | None,
    wait: bool,
    timeout_s: float | None,
) -> int:
    """Write rejected rows, then (with `wait`) each task's result as it finishes; else each
    task's id. Returns how many tasks ended terminal."""
    from tqdm import tqdm

    from genroute.client.backlog import result_row

    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    finished = 0
    try:
        for record in rejected:
            handle.write(json.dumps(record) + "\n")
        if not wait:
            for row_id, task_id in task_ids.items():
                handle.write(json.dumps({"row": row_id, "task_id": task_id}) + "\n")
            return 0
        rows = list(task_ids)
        views = client.iter_results([task_ids[r] for r in rows], timeout_s)
        with tqdm(total=len(rows), desc="finished", unit="task", file=sys.stderr) as bar:
            for row_id, view in zip(rows, views, strict=False):
                handle.write(json.dumps(result_row(row_id, view)) + "\n")
                handle.flush()
                finished += view.status.is_terminal
                bar.update(1)
    finally:
        if out:
            handle.close()
    return finished


@click.command("sample-backlog")
@click.option("--count", type=click.IntRange(1), default=500, show_default=True)
@click.option(
    "--repeat-share",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="Share of tickets that repeat an earlier one word for word.",
)
@click.option(
    "--seed", type=int, default=7, show_default=True, help="The same seed, the same rows."
)
@click.option("--out", type=click.File("w", encoding="utf-8", lazy=False), default="-")
def sample_backlog(count: int, repeat_share: float, seed: int, out: Any) -> None:
    """Write COUNT support tickets as CSV (columns ticket_id, customer_tier, text) to --out
    (default: standard output): most about orders of their own, some repeated word for word."""
    from genroute.client.sample_backlog import backlog_tickets

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ticket_id", "customer_tier", "text"])
    writer.writerows(backlog_tickets(count, repeat_share, seed))
    click.echo(f"wrote {count} tickets to {out.name}", err=True)
