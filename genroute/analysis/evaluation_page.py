"""The evaluation run as a page: acceptance, latency and cost per path side by side, the
recommendation, and every item's outcome with its validators' verdicts."""

import html
from typing import Any

from genroute.analysis.html_report import render_page


def _bars(paths: dict[str, dict], field: str, fmt: str, label: str) -> dict[str, Any]:
    names = sorted(paths)
    values = [paths[p][field] for p in names]
    if all(v is None for v in values):
        return {"empty": f"no {label} on any path"}
    return {
        "kind": "groupedBars",
        "categories": names,
        "series": [{"name": label, "values": values}],
        "yLabel": label,
        "format": fmt,
        **({"max": 1.0} if fmt == "percent" else {}),
    }


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "<td>-</td>"
    failed = [v["validator"] for v in result["verdicts"] if not v["passed"]]
    verdict = "all checks passed" if result["verdicts"] and not failed else ", ".join(failed)
    text = (result["output"] or result["error"] or "")[:300]
    latency = f"{result['latency_s']:.2f} s" if result["latency_s"] is not None else "-"
    return (
        f"<td><b>{html.escape(result['status'])}</b> ({latency})<br>"
        f"<i>{html.escape(verdict or 'no output to check')}</i><br>{html.escape(text)}</td>"
    )


def render_evaluation(report: dict[str, Any]) -> str:
    paths = report["paths"]
    names = sorted(paths)
    charts = {
        "acceptance": (
            "Acceptance rate by path",
            _bars(paths, "acceptance_rate", "percent", "acceptance"),
        ),
        "latency": ("p95 latency by path", _bars(paths, "latency_p95_s", "seconds", "p95 latency")),
        "cost": (
            "Cost per accepted output by path",
            _bars(paths, "cost_per_accepted_output", "money", "cost per accepted output"),
        ),
    }
    fields = [
        ("requests", "requests"),
        ("accepted", "accepted"),
        ("acceptance", "acceptance_rate"),
        ("invalid outputs", "validation_failure_rate"),
        ("timeouts", "timeout_rate"),
        ("p50 latency s", "latency_p50_s"),
        ("p95 latency s", "latency_p95_s"),
        ("tokens/s", "tokens_per_s"),
        ("cost per request", "cost_per_request"),
        ("cost per accepted output", "cost_per_accepted_output"),
    ]
    quality = {p: paths[p].get("quality") for p in names}
    headline = next((q["headline"] for q in quality.values() if q), None)
    if headline:
        for p in names:
            paths[p] = {**paths[p], headline: (quality[p] or {}).get(headline)}
        fields.insert(3, (f"{headline.replace('_', ' ')} (expected outputs)", headline))
    head = "".join(f"<th>{html.escape(p)}</th>" for p in names)
    side = "".join(
        f"<tr><th>{label}</th>"
        + "".join(f"<td>{_fmt(paths[p][field])}</td>" for p in names)
        + "</tr>"
        for label, field in fields
    )
    items = "".join(
        f"<tr><td>{html.escape(str(o['item']))}</td><td>{html.escape(o['input'][:200])}</td>"
        + "".join(_cell(o.get(p)) for p in names)
        + "</tr>"
        for o in report["outcomes"]
    )
    advice = report["recommendation"]
    body = f"""
<h2>Recommendation for {html.escape(report["task_type"])}</h2>
<p><b>{html.escape(advice["path"] or "no change")}</b>: {html.escape(advice["reasoning"])}</p>
<h2>Side by side</h2>
<table><tr><th></th>{head}</tr>{side}</table>
<h2>Items</h2>
<table><tr><th>item</th><th>input</th>{head}</tr>{items}</table>
"""
    intro = (
        f"Evaluation run {report['run']}: {report['items']} items of {report['task_type']} "
        f"through {', '.join(names)} (forced routes, no fallback, not counted by rollback)."
    )
    return render_page(f"genroute eval: {report['task_type']}", intro, charts, body)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
