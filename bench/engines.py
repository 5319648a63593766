"""Engine throughput, in one run, so the ratios hold on a shared, noisy machine.

For each in-process engine: tokens/s with the model called directly (one request at a time,
then batches of the configured width), and through the whole system (submit over HTTP ->
Redis -> a real worker -> PostgreSQL) with a batch-width-1 worker and a batched worker. Prints
one JSON object with `batched_over_sequential` (system, batched vs batch 1) and
`system_over_direct` (system vs direct, both batched) per engine.

    .venv/bin/python bench/engines.py [--requests 16] [--width 8] [--tokens 32]
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.demo import sample_tickets
from genroute.embedded import services
from genroute.engine import Engine, GenerationRequest
from genroute.settings import Settings
from genroute.stack import running_stack
from policies import load_catalog
from workers.engines.registry import PathConfig, build_engine, load_paths

# Engine -> (path it serves, task type routed to that path by the default policy).
CASES = {
    "transformers-causal": ("autoregressive", "extraction"),
    "diffusion-gemma": ("diffusion", "ticket_summary"),
}


def engine_requests(settings: Settings, task_type: str, count: int, tokens: int) -> list[dict]:
    tickets = [t["input"] for t in sample_tickets(count)]
    return [
        {"task_type": task_type, "input": text, "max_output_tokens": tokens} for text in tickets
    ]


def direct(
    engine: Engine, settings: Settings, requests: list[dict], width: int
) -> dict[str, float]:
    """Tokens/s calling the engine in this process, at batch 1 and at `width`."""
    catalog = load_catalog(settings.task_types_file)
    prompts = [
        GenerationRequest(
            catalog.get(r["task_type"]).system_prompt,
            catalog.get(r["task_type"]).render_prompt(r["input"]),
            r["max_output_tokens"],
        )
        for r in requests
    ]
    engine.generate(prompts[:1])  # warm-up
    figures = {}
    for label, size in (("sequential", 1), ("batched", width)):
        started = time.perf_counter()
        tokens = 0
        for i in range(0, len(prompts), size):
            tokens += sum(g.tokens_out for g in engine.generate(prompts[i : i + size]))
        figures[f"{label}_tokens_per_s"] = round(tokens / (time.perf_counter() - started), 2)
    return figures


def through_system(
    settings: Settings, path: str, config: PathConfig, requests: list[dict], folder: Path
) -> float:
    """Tokens/s from first submission to last result, by the database's clock."""
    paths_file = folder / f"paths-{path}-{config.batch_width}.yaml"
    entry = config.model_dump(mode="json")
    paths_file.write_text(yaml.safe_dump({"paths": {path: entry}}))
    live = settings.model_copy(update={"paths_file": paths_file})
    with (
        running_stack(live, [path], folder / "logs") as stack,
        httpx.Client(base_url=stack.api_url, timeout=30) as client,
    ):
        warm = client.post("/v1/tasks", json=requests[0]).json()["id"]
        _wait(client, [warm])
        ids = [client.post("/v1/tasks", json=r).json()["id"] for r in requests]
        views = _wait(client, ids)
    failed = [v.id for v in views if v.status.value != "succeeded"]
    if failed:
        raise SystemExit(f"benchmark tasks failed: {failed}")
    span = max(v.finished_at for v in views) - min(v.created_at for v in views)
    tokens = sum(v.attempts[-1].tokens_out or 0 for v in views)
    return round(tokens / span.total_seconds(), 2)


def _wait(client: httpx.Client, ids: list[str], timeout_s: float = 900) -> list[TaskView]:
    deadline = time.monotonic() + timeout_s
    done: dict[str, TaskView] = {}
    while len(done) < len(ids) and time.monotonic() < deadline:
        for task_id in set(ids) - set(done):
            view = TaskView.model_validate(client.get(f"/v1/tasks/{task_id}").json())
            if view.status.is_terminal:
                done[task_id] = view
        time.sleep(0.2)
    return [done[i] for i in ids]


def bench_engine(settings: Settings, name: str, args: argparse.Namespace, folder: Path) -> dict:
    path, task_type = CASES[name]
    base = load_paths(settings.paths_file)[path]
    if base.engine != name:
        raise SystemExit(f"workers/paths.yaml serves '{path}' with {base.engine}, not {name}")
    requests = engine_requests(settings, task_type, args.requests, args.tokens)
    engine = build_engine(base, settings.model_cache_dir, settings.torch_threads)
    direct_figures = direct(engine, settings, requests, args.width)
    del engine  # free the model before the workers load theirs
    system = {}
    for label, width in (("sequential", 1), ("batched", args.width)):
        config = base.model_copy(update={"batch_width": width})
        system[f"{label}_tokens_per_s"] = through_system(settings, path, config, requests, folder)
    return {
        "model": base.model,
        "path": path,
        "task_type": task_type,
        "requests": args.requests,
        "batch_width": args.width,
        "max_output_tokens": args.tokens,
        "direct": direct_figures,
        "system": system,
        "batched_over_sequential": round(
            system["batched_tokens_per_s"] / system["sequential_tokens_per_s"], 2
        ),
        "system_over_direct": round(
            system["batched_tokens_per_s"] / direct_figures["batched_tokens_per_s"], 2
        ),
        "direct_batched_over_sequential": round(
            direct_figures["batched_tokens_per_s"] / direct_figures["sequential_tokens_per_s"], 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--engines", default=",".join(CASES))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "torch_threads": Settings().torch_threads,
        },
        "engines": {},
    }
    with tempfile.TemporaryDirectory() as tmp, services(Settings()) as live:
        upgrade(live.database_url)
        for name in args.engines.split(","):
            results["engines"][name] = bench_engine(live, name, args, Path(tmp))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
