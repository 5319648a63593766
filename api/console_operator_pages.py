"""The console's operator pages as HTML, without I/O: the live scorecard (sortable table and
charts), path states with adaptive shares and their events, batches with their progress, and
dead letters with every attempt (a requeue button for admin keys). Tables sort by a click on a
column's heading (numbers as numbers); every value is escaped; charts are drawn by the same
inline script as `genroute report` (nothing is loaded from the network)."""

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from genroute.analysis.html_report import chart_section
from genroute.api.console_pages import page
from genroute.contract import PathStateView, Scorecard, ShareView
from genroute.db.models import Batch, RollbackEvent, ShareEvent, Task

_SORT_SCRIPT = """
for (const table of document.querySelectorAll('table.sortable')) {
  table.querySelectorAll('th').forEach((th, column) => th.addEventListener('click', () => {
    const body = table.tBodies[0];
    const ascending = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach((h) => h.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    const key = (row) => row.cells[column].dataset.value ?? row.cells[column].textContent;
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      const order = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  }));
}
"""
# The windows the scorecard page offers, and how the one shown is marked.
WINDOWS = ("1h", "24h", "7d", "30d")
CURRENT = " aria-current='page'"
# A cell: what it shows, and the value it sorts by (None: sorts by what it shows).
Cell = tuple[str, float | str | None]


def _cell(value: Any, shown: str | None = None) -> Cell:
    return (shown if shown is not None else ("" if value is None else str(value)), value)


def _rate(value: float | None) -> Cell:
    return _cell(value, "" if value is None else f"{value:.0%}")


def _number(value: float | None, digits: int = 3) -> Cell:
    return _cell(value, "" if value is None else f"{value:.{digits}g}")


def _moment(value: datetime | None) -> Cell:
    shown = "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")
    return _cell(None if value is None else value.timestamp(), shown)


def table(name: str, headings: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """A sortable table; `rows` of cells as `_cell` makes them."""
    if not rows:
        return f"<p class='keys' data-table='{escape(name)}'>Nothing here yet.</p>"
    head = "".join(f"<th scope='col'>{escape(heading)}</th>" for heading in headings)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td data-value='{escape('' if value is None else str(value))}'>{shown}</td>"
            if value is not None
            else f"<td>{shown}</td>"
            for shown, value in row
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table class='sortable' data-table='{escape(name)}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _escaped(rows: Sequence[Sequence[Cell]]) -> list[list[Cell]]:
    return [[(escape(shown), value) for shown, value in row] for row in rows]


def scorecard(card: Scorecard, charts: dict[str, tuple[str, dict]], window: str) -> str:
    rows = [
        [
            _cell(row.path),
            _cell(row.task_type),
            _cell(row.requests),
            _rate(row.acceptance_rate),
            _rate(row.fallback_rate),
            _number(row.latency_p50_s),
            _number(row.latency_p95_s),
            _number(row.cost_per_accepted_output),
            _cell(row.human_reviewed),
            _rate(row.human_acceptance_rate),
            _rate(row.human_edit_rate),
            _number(row.mean_usefulness, 2),
            _cell(row.preference_comparisons),
            _rate(row.preference_win_rate),
            _cell(
                None,
                ""
                if row.preference_interval is None
                else "{:.0%}-{:.0%}".format(*row.preference_interval),
            ),
        ]
        for row in card.rows
    ]
    headings = (
        "path",
        "task type",
        "requests",
        "acceptance",
        "fallback",
        "p50 s",
        "p95 s",
        "cost / accepted",
        "reviewed",
        "human acceptance",
        "edit rate",
        "usefulness",
        "pairs",
        "win rate",
        "95% interval",
    )
    windows = " ".join(
        f"<a href='/console/scorecard?since={w}'{CURRENT if w == window else ''}>{w}</a>"
        for w in WINDOWS
    )
    body = (
        f"<p class='keys'>Production requests created in the last {escape(window)} "
        f"({windows}); figures per routed path, all attempts of a request that fell back "
        "charged to the path it was routed to. Click a heading to sort.</p>"
        + table("scorecard", headings, _escaped(rows))
        + chart_section(charts)
        + f"<script>{_SORT_SCRIPT}</script>"
    )
    return page("Scorecard", body, status="scorecard", wide=True)


def _state_rows(states: list[PathStateView]) -> list[list[Cell]]:
    return [
        [
            _cell(s.path),
            _cell(s.task_type),
            _cell(s.state),
            _cell(s.samples),
            _cell(s.failures),
            _number(s.cooldown_s),
            _cell(s.data_location),
        ]
        for s in states
    ]


def _share_rows(shares: list[ShareView]) -> list[list[Cell]]:
    return [
        [
            _cell(s.rule),
            _cell(s.task_type),
            _cell(f"{s.path} / {s.other_path}"),
            _rate(s.share),
            _cell(None, f"{s.min:.0%}-{s.max:.0%}"),
            _cell(s.objective),
            _cell(s.reason),
        ]
        for s in shares
    ]


def _event_rows(
    share_events: list[ShareEvent], rollbacks: list[RollbackEvent]
) -> tuple[list[list[Cell]], list[list[Cell]]]:
    moves = [
        [
            _moment(e.created_at),
            _cell(e.rule),
            _cell(e.task_type),
            _cell(None, f"{e.from_share:.0%} -> {e.to_share:.0%}"),
            _cell(e.reason),
        ]
        for e in share_events
    ]
    changes = [
        [
            _moment(e.created_at),
            _cell(f"{e.path}/{e.task_type}"),
            _cell(None, f"{e.from_state} -> {e.to_state}"),
            _rate(e.failure_rate),
            _cell("operator" if e.manual else "controller"),
            _cell(e.reason),
        ]
        for e in rollbacks
    ]
    return moves, changes


def paths(
    states: list[PathStateView],
    shares: list[ShareView],
    share_events: list[ShareEvent],
    rollbacks: list[RollbackEvent],
) -> str:
    moves, changes = _event_rows(share_events, rollbacks)
    body = (
        "<h2>Path states</h2>"
        + table(
            "path-states",
            ("path", "task type", "state", "samples", "failures", "cooldown s", "data goes to"),
            _escaped(_state_rows(states)),
        )
        + "<h2>Adaptive shares</h2>"
        + table(
            "shares",
            ("rule", "task type", "paths", "share", "bounds", "objective", "why"),
            _escaped(_share_rows(shares)),
        )
        + "<h2>Share moves</h2>"
        + table("share-events", ("at", "rule", "task type", "move", "why"), _escaped(moves))
        + "<h2>Rollbacks</h2>"
        + table(
            "rollbacks",
            ("at", "path/task type", "change", "failure rate", "by", "why"),
            _escaped(changes),
        )
        + f"<script>{_SORT_SCRIPT}</script>"
    )
    return page("Paths", body, status="paths", wide=True)


def batches(rows: list[tuple[Batch, int, int, int]]) -> str:
    """Batches, newest first: (batch, total, completed, failed) each."""
    cells = [
        [
            _cell(batch.id),
            _cell(batch.status),
            _moment(batch.created_at),
            _cell(total),
            _cell(batch.lines_done),
            _cell(completed),
            _cell(failed),
            _cell(
                (completed + failed) / total if total else 0,
                f"<progress max='{total or 1}' value='{completed + failed}'></progress>",
            ),
        ]
        for batch, total, completed, failed in rows
    ]
    escaped = [[(escape(s), v) for s, v in row[:-1]] + [row[-1]] for row in cells]
    headings = ("batch", "status", "created", "lines", "submitted", "completed", "failed", "done")
    body = table("batches", headings, escaped) + f"<script>{_SORT_SCRIPT}</script>"
    return page("Batches", body, status="batches", wide=True)


def _lineage(task: Task) -> str:
    steps = []
    for attempt in task.attempts:
        failed = [v.validator for v in attempt.validations if not v.passed]
        why = f"failed {', '.join(failed)}" if failed else (attempt.error or "")
        steps.append(
            f"<li>{escape(attempt.path)} on {escape(attempt.queue)}: "
            f"<strong>{escape(attempt.outcome)}</strong> {escape(why[:300])}</li>"
        )
    return f"<ol class='lineage'>{''.join(steps)}</ol>" if steps else "no attempt"


def dead_letters(tasks: list[Task], may_requeue: bool) -> str:
    cards = []
    for task in tasks:
        button = (
            f"<form method='post' action='/console/dead-letters/{task.id}/requeue'>"
            "<button>Requeue with fresh attempts</button></form>"
            if may_requeue
            else ""
        )
        cards.append(
            f"<section class='card' data-task='{task.id}'><h2>{escape(task.task_type)} · "
            f"routed to {escape(task.route_path)}</h2>"
            f"<p class='keys'>{task.id} · failed {_moment(task.finished_at)[0]}</p>"
            f"<p class='error'>{escape((task.error or '')[:500])}</p>{_lineage(task)}{button}"
            "</section>"
        )
    note = "" if may_requeue else "<p class='keys'>Requeueing needs a key with the admin scope.</p>"
    body = note + ("".join(cards) or "<p>No dead letters: no task has failed.</p>")
    return page("Dead letters", body, status="dead-letters", wide=True)
