"""What the cache of accepted outputs saves on a support backlog with repeats, against the
same backlog uncached, side by side in one run (so the ratio holds on a shared, noisy machine).

The backlog is `genroute sample-backlog`'s: most tickets about orders and customers of their
own, a share repeated word for word (a customer writing twice, a forwarded duplicate) and a
few boilerplate tickets that repeat anyway. Each ticket is classified twice on one stack, whose
policy sends everything to the autoregressive path: as `classification` (uncached, the
baseline) and as a copy of it whose outputs are cached within the owner. The two arms submit
their batches in turn (a triage tool's steady stream: a batch, its results, the next batch),
so noise falls on both alike. A repeat can only hit once its first copy was accepted, so
`hit_rate` sits below `repeat_share`, the most any cache of identical requests could answer.

    .venv/bin/python bench/cache.py [--tickets 400] [--batch 25] [--quick]
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path
from typing import Any

import yaml
from engines import only_path, wait_for_views

from genroute.client.sample_backlog import backlog_tickets
from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import running_stack
from genroute.settings import Settings
from genroute.workers.engines.registry import load_paths

CACHED, UNCACHED = "cached_classification", "classification"


def with_cached_copy(settings: Settings, folder: Path) -> Path:
    """The catalog, plus `classification` cached within each owner for an hour."""
    catalog = yaml.safe_load(settings.task_types_file.read_text())
    entry = {**catalog["task_types"][UNCACHED], "examples": []}
    catalog["task_types"][CACHED] = {**entry, "cache": {"ttl_s": 3600, "scope": "owner"}}
    path = folder / "task_types.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path


def run_arms(settings: Settings, texts: list[str], batch: int, folder: Path) -> dict[str, list]:
    """Each arm's task views, in backlog order; the arms' batches alternate."""
    views: dict[str, list[TaskView]] = {CACHED: [], UNCACHED: []}
    with (
        running_stack(settings, ["autoregressive"], folder / "logs") as stack,
        stack.http() as client,
    ):
        for start in range(0, len(texts), batch):
            for task_type in (UNCACHED, CACHED):
                items = [{"task_type": task_type, "input": t} for t in texts[start : start + batch]]
                answer = client.post("/v1/tasks/batch", json={"items": items}, timeout=120)
                ids = [item["task"]["id"] for item in answer.raise_for_status().json()["items"]]
                views[task_type].extend(wait_for_views(client, ids))
    return views


def summary(views: list[TaskView]) -> dict[str, Any]:
    attempts = [a for view in views for a in view.attempts]
    hits = [v for v in views if v.attempts and v.attempts[0].outcome.value == "cached"]
    misses = [v for v in views if v not in hits]

    def p50(group: list[TaskView]) -> float | None:
        times = [(v.finished_at - v.created_at).total_seconds() for v in group if v.finished_at]
        return round(statistics.median(times), 4) if times else None

    return {
        "requests": len(views),
        "accepted": sum(v.status.value == "succeeded" for v in views),
        "model_attempts": sum(a.outcome.value != "cached" for a in attempts),
        "hits": len(hits),
        "cost_usd": round(sum(a.cost or 0.0 for a in attempts), 8),
        "latency_p50_s": p50(misses),
        "hit_latency_p50_s": p50(hits),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--repeat-share", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="a short backlog")
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.batch, args.repeat_share = 20, 10, 0.4
    texts = [text for _id, _tier, text in backlog_tickets(args.tickets, args.repeat_share, seed=7)]
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        folder = Path(tmp)
        config = load_paths(live.paths_file)["autoregressive"]
        settings = only_path(live, "autoregressive", config, folder)
        settings = settings.model_copy(update={"task_types_file": with_cached_copy(live, folder)})
        views = run_arms(settings, texts, args.batch, folder)
    cached, baseline = summary(views[CACHED]), summary(views[UNCACHED])
    saved = baseline["cost_usd"] - cached["cost_usd"]
    result = {
        "bench": "cache",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "tickets": args.tickets,
        "batch": args.batch,
        "repeat_share": round(1 - len(set(texts)) / len(texts), 4),
        "hit_rate": round(cached["hits"] / len(texts), 4),
        "cost_saved_usd": round(saved, 8),
        "cost_saved_share": round(saved / baseline["cost_usd"], 4)
        if baseline["cost_usd"]
        else None,
        "model_attempts_saved": baseline["model_attempts"] - cached["model_attempts"],
        "cached": cached,
        "baseline": baseline,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
