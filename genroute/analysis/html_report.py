"""The scorecard as one self-contained HTML file: the figures as JSON in the page, drawn by an
inline script into SVG (no network, no CDN), and the full table beneath the charts."""

import html
import json
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from genroute.analysis.scorecard import build_scorecard, format_scorecard
from genroute.contract import Purpose, ScorecardRow
from genroute.db.models import RollbackEvent
from genroute.db.rollups import bucket_edge
from genroute.db.scorecard import Window, grouped_figures

CHARTS = {
    "latency": "End-to-end latency by routed path (finished requests)",
    "rates": "Acceptance and fallback rate by task type",
    "cost": "Cost per accepted output by path and task type",
    "rollbacks": "Rollback events",
}


def latency_chart(by_path: dict[str, dict[int, int]], bars: int = 20) -> dict[str, Any]:
    """The rollups' latency buckets per path, merged into at most `bars` ranges from the
    fastest request to the 99th percentile of all (slower ones counted in the last range)."""
    merged: dict[int, int] = {}
    for counts in by_path.values():
        for bucket, count in counts.items():
            merged[bucket] = merged.get(bucket, 0) + count
    if not merged:
        return {"empty": "no finished requests in this window"}
    ordered = sorted(merged)
    total, seen, top = sum(merged.values()), 0, ordered[-1]
    for bucket in ordered:
        seen += merged[bucket]
        if seen >= 0.99 * total:
            top = bucket
            break
    low = ordered[0]
    width = max(1, -(-(top - low + 1) // bars))  # buckets per bar, rounded up
    count_of_bars = -(-(top - low + 1) // width)

    def bar_of(bucket: int) -> int:
        return min(max(bucket - low, 0) // width, count_of_bars - 1)

    labels = [
        f"{bucket_edge(low + i * width):.2f}-{bucket_edge(low + (i + 1) * width):.2f} s"
        for i in range(count_of_bars)
    ]
    series = []
    for path, counts in sorted(by_path.items()):
        values = [0] * count_of_bars
        for bucket, count in counts.items():
            values[bar_of(bucket)] += count
        series.append({"name": path, "values": values})
    return {
        "kind": "groupedBars",
        "categories": labels,
        "series": series,
        "yLabel": "requests",
        "format": "count",
    }


def _rates_chart(rows: list[ScorecardRow]) -> dict[str, Any]:
    if not rows:
        return {"empty": "no finished requests in this window"}
    return {
        "kind": "groupedBars",
        "categories": [row.task_type or "" for row in rows],
        "series": [
            {"name": "acceptance", "values": [row.acceptance_rate for row in rows]},
            {"name": "fallback", "values": [row.fallback_rate for row in rows]},
        ],
        "yLabel": "share of requests",
        "format": "percent",
        "max": 1.0,
    }


def _cost_chart(rows: list[ScorecardRow]) -> dict[str, Any]:
    priced = [row for row in rows if row.cost_per_accepted_output is not None]
    if not priced:
        return {"empty": "no accepted outputs in this window"}
    task_types = sorted({row.task_type or "" for row in priced})
    paths = sorted({row.path or "" for row in priced})
    table = {(row.path, row.task_type): row.cost_per_accepted_output for row in priced}
    return {
        "kind": "groupedBars",
        "categories": task_types,
        "series": [
            {"name": path, "values": [table.get((path, t)) for t in task_types]} for path in paths
        ],
        "yLabel": "cost per accepted output",
        "format": "money",
    }


def _rollback_chart(events: list[RollbackEvent], start: datetime | None, end: datetime) -> dict:
    if not events:
        return {"empty": "no rollback events in this window"}
    return {
        "kind": "timeline",
        "start": start.isoformat() if start else None,
        "end": end.isoformat(),
        "events": [
            {
                "lane": f"{e.path}/{e.task_type}",
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "at": e.created_at.isoformat(),
            }
            for e in events
        ],
    }


def report_data(session: Session, since: timedelta | None) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data (production traffic only)."""
    production = Purpose.production.value
    by_path_type = build_scorecard(session, ["path", "task_type"], since, production)
    by_type = build_scorecard(session, ["task_type"], since, production)
    full = build_scorecard(session, since=since)
    window = Window(by_path_type.since, production)
    histograms = grouped_figures(session, ["path"], window)["histograms"]
    latency = {key[1] or "": figures.get("latency", {}) for key, figures in histograms.items()}
    query = select(RollbackEvent).order_by(RollbackEvent.created_at)
    if window.since is not None:
        query = query.where(RollbackEvent.created_at >= window.since)
    events = list(session.scalars(query))
    return {
        "generated_at": full.generated_at.isoformat(),
        "since": full.since.isoformat() if full.since else None,
        "charts": {
            "latency": latency_chart(latency),
            "rates": _rates_chart(by_type.rows),
            "cost": _cost_chart(by_path_type.rows),
            "rollbacks": _rollback_chart(events, full.since, full.generated_at),
        },
        "scorecard": full.model_dump(mode="json"),
        "table": format_scorecard(full),
    }


def chart_section(charts: dict[str, tuple[str, dict]]) -> str:
    """`charts` (name -> caption, spec) as figures the inline script draws from the embedded
    JSON: no network, no library."""
    script = resources.files("genroute.data").joinpath("report.js").read_text()
    data = {"charts": {name: spec for name, (_caption, spec) in charts.items()}}
    # "</" inside the JSON would end the script element early.
    payload = json.dumps(data).replace("</", "<\\/")
    figures = "\n".join(
        f'<figure data-chart="{name}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for name, (caption, _spec) in charts.items()
    )
    return (
        f"{figures}\n"
        f'<script type="application/json" id="report-data">{payload}</script>\n'
        f"<script>{script}</script>"
    )


def render_page(title: str, intro: str, charts: dict[str, tuple[str, dict]], body: str) -> str:
    """A self-contained page: `charts` drawn by the inline script, then `body` (HTML). `intro`
    is plain text."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
figure {{ margin: 1.5em 0; }} figcaption {{ font-weight: 600; margin-bottom: .5em; }}
pre {{ font-size: 12px; overflow-x: auto; background: #f6f6f6; padding: 1em; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
.empty {{ color: #777; font-style: italic; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p>
{chart_section(charts)}
{body}
</body></html>
"""


def render_report(data: dict[str, Any]) -> str:
    """The scorecard page: its charts, then the scorecard as text."""
    window = f"since {data['since']}" if data["since"] else "all history"
    intro = (
        f"Generated {data['generated_at']}, {window}. Figures per routed path: a request that "
        "fell back is charged, all its attempts included, to the path it was routed to."
    )
    charts = {name: (CHARTS[name], spec) for name, spec in data["charts"].items()}
    body = f"<h2>Scorecard</h2>\n<pre>{html.escape(data['table'])}</pre>"
    return render_page("genroute scorecard", intro, charts, body)


def write_report(session: Session, since: timedelta | None, path: str) -> str:
    """Write the report to `path`; returns the path."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_report(report_data(session, since)))
    return path
