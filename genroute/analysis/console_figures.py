"""What the console's scorecard page shows: the scorecard per (path, task type) of one owner
(or everyone, for an admin) over a window, and its charts: acceptance and cost per accepted
output hour by hour, and the latency distribution per path. Production traffic only."""

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from genroute.analysis.html_report import latency_chart
from genroute.analysis.scorecard import build_scorecard
from genroute.analysis.scorecard_trends import trend_charts
from genroute.contract import Purpose, Scorecard
from genroute.db.scorecard import Window, grouped_figures

CAPTIONS = {
    "acceptance_over_time": "Acceptance by path and task type, hour by hour",
    "cost_over_time": "Cost per accepted output by path and task type, hour by hour",
    "latency": "End-to-end latency by routed path (finished requests)",
}


def scorecard_with_charts(
    session: Session, since: timedelta, owner: str | None
) -> tuple[Scorecard, dict[str, tuple[str, dict[str, Any]]]]:
    production = Purpose.production.value
    card = build_scorecard(session, ["path", "task_type"], since, production, owner)
    window = Window(card.since, production, owner)
    histograms = grouped_figures(session, ["path"], window)["histograms"]
    latency = {key[1] or "": figures.get("latency", {}) for key, figures in histograms.items()}
    specs = trend_charts(session, card.since, owner) | {"latency": latency_chart(latency)}
    return card, {name: (CAPTIONS[name], spec) for name, spec in specs.items()}
