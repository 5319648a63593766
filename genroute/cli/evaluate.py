"""`genroute eval`: a dataset through each path side by side, and a recommendation."""

import json
from pathlib import Path

import click

from genroute.client.backlog import ColumnMap, read_backlog
from genroute.contract import PathName


def _quality_text(figures: dict | None) -> str:
    if not figures:
        return ""
    text = f", {figures['headline'].replace('_', ' ')} {figures[figures['headline']]:.1%}"
    if figures["kind"] == "label":
        text += (
            f" (always '{figures['commonest_label']}': {figures['commonest_label_accuracy']:.1%})"
        )
    return text


def _paths(value: str) -> tuple[PathName, ...]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    known = [p.value for p in PathName]
    unknown = [n for n in names if n not in known]
    if unknown or not names or len(set(names)) != len(names):
        raise click.BadParameter(f"'{value}': name distinct paths among {', '.join(known)}")
    return tuple(PathName(n) for n in names)


@click.command("eval")
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--task-type", required=True, help="The task type every item is run as.")
@click.option("--paths", "paths_text", default="diffusion,autoregressive", show_default=True)
@click.option(
    "--out", "out_dir", default="eval-report", show_default=True, type=click.Path(path_type=Path)
)
@click.option("--input-column", default="input", show_default=True)
@click.option("--id-column", default=None, help="Column naming each item (default: row number).")
@click.option(
    "--expected-column",
    default="expected",
    show_default=True,
    help="Column with each item's expected output: a label, expected JSON fields, or "
    '{"must_include": [facts]}; scored per path beside acceptance.',
)
@click.option(
    "--attachment-column",
    default=None,
    help="Column of image or video paths (relative to DATASET) shown with each item.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N items.")
@click.option("--latency-budget-ms", type=click.IntRange(1), default=None, help="p95 to meet.")
@click.option("--timeout", "timeout_s", default=1800.0, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(
    dataset: Path,
    task_type: str,
    paths_text: str,
    out_dir: Path,
    input_column: str,
    id_column: str | None,
    expected_column: str,
    attachment_column: str | None,
    limit: int | None,
    latency_budget_ms: int | None,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Run every item of DATASET (JSONL or CSV) through each path (forced, no fallback, kept
    out of the rollback window), validate, score the answers against the items' expected
    outputs where they have them, and write eval.json and eval.html to --out."""
    from genroute.analysis.evaluation import EvalPlan, new_run_id
    from genroute.cli.support import setup_logging
    from genroute.local.evaluation_run import run_evaluation
    from genroute.settings import Settings

    setup_logging("WARNING")
    paths = _paths(paths_text)
    columns = ColumnMap(
        input=input_column,
        row_id=id_column,
        expected=expected_column,
        attachments=attachment_column,
    )
    items = read_backlog(dataset, task_type, columns)
    plan = EvalPlan(new_run_id(), task_type, paths, items[:limit], latency_budget_ms)
    click.echo(f"evaluating {len(plan.items)} items on {paths_text} (run {plan.run_id})", err=True)
    report = run_evaluation(Settings(), plan, out_dir, timeout_s)
    if as_json:
        click.echo(json.dumps(report, default=str))
        return
    for path, row in sorted(report["paths"].items()):
        cost = row["cost_per_accepted_output"]
        click.echo(
            f"{path}: accepted {row['accepted']}/{row['requests']}, p95 "
            f"{row['latency_p95_s'] or 0:.2f} s, cost per accepted output "
            f"{'-' if cost is None else f'{cost:.6g}'}" + _quality_text(row.get("quality"))
        )
    advice = report["recommendation"]
    click.echo(f"recommendation: {advice['path'] or 'no change'}: {advice['reasoning']}")
    click.echo(f"report: {report['html']} and {report['json']}")


@click.command("export-reviewed")
@click.option("--task-type", required=True, help="The task type whose reviewed outputs to export.")
@click.option(
    "--out", type=click.File("w", encoding="utf-8", lazy=False), default="-", help="JSONL file."
)
@click.option("--since", default=None, help="Only requests created this long ago: 30d, 12h.")
@click.option("--owner", default=None, help="Only this owner's requests.")
def export_reviewed(task_type: str, out: object, since: str | None, owner: str | None) -> None:
    """Write the task type's reviewed outputs as a `genroute eval` dataset (JSONL, columns id,
    input, expected or reference, verdict, usefulness): accepted outputs as they were,
    corrected ones as corrected, rejected ones left out."""
    from datetime import UTC, datetime

    from genroute.analysis.reviewed_dataset import Reviewed, dataset_rows
    from genroute.cli.scorecard import since_option
    from genroute.cli.support import live_database
    from genroute.db.feedback import reviewed_outputs
    from genroute.policies import load_catalog

    window = since_option(since)
    start = datetime.now(UTC) - window if window is not None else None
    with live_database() as (settings, sessions), sessions() as session:
        kind = load_catalog(settings.task_types_file).get(task_type)
        found = reviewed_outputs(session, task_type, start, owner)
        reviewed = [
            Reviewed(
                str(task.id),
                str(task.request.get("input", "")),
                task.output_text or "",
                feedback.verdict,
                feedback.edited_text,
                feedback.usefulness,
            )
            for task, feedback in found
        ]
    count = 0
    for row in dataset_rows(kind, reviewed):
        out.write(json.dumps(row) + "\n")  # type: ignore[attr-defined]
        count += 1
    click.echo(f"wrote {count} reviewed items of {len(reviewed)} judged", err=True)
