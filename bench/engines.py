"""Engine throughput, in one run, so the ratios hold on a shared, noisy machine.

For each engine: tokens/s with the engine called directly (one request at a time, then at the
configured width), and through the whole system (submit over HTTP -> Redis -> a real worker ->
PostgreSQL) with a batch-width-1 worker and a batched worker. Prints one JSON object with
`batched_over_sequential` (system, batched vs batch 1) and `system_over_direct` (system vs
direct, both batched) per engine, and the mean batch the system's attempts ran in.

The in-process engines are called directly in batches of the width. `openai-http` runs
against a real vLLM server (CPU build, `.venv-vllm`; `python3 dev.py test` sets it up)
serving SmolLM2-135M with `--max-num-seqs` equal to the width: directly, every request is
sent at once through the HTTP engine (the server's own continuous batching, at most the width
in flight); through the system, by a worker whose path has that batch width.

    .venv/bin/python bench/engines.py [--requests 16] [--width 8] [--tokens 64] [--gpu N]
        [--engines transformers-causal,diffusion-gemma,openai-http] [--vllm-python PATH]
        [--quick]

`--quick` (what the suite runs) is 4 requests of 8 tokens at width 2, through the system with
the batched worker only (`batched_over_sequential` is then null).

Through the system each request is forced onto the engine's path with no fallback (one
attempt each), so the figures are that engine's whatever the validators say; the share of
outputs they accepted is reported beside them (`accepted_share`).

With `--gpu N` the workers run as `genroute worker --gpu N` and the direct calls see only that
GPU; each system run then also reports where its attempts ran (engine device, GPU id) and
whether nvidia-smi lists the worker process on the GPU.
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

from genroute.contract import TaskView
from genroute.db.migrate import upgrade
from genroute.interfaces import Engine
from genroute.local.demo import sample_tickets
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import running_stack
from genroute.local.vllm_server import vllm_server
from genroute.policies import load_catalog
from genroute.settings import Settings
from genroute.workers.claiming import engine_request
from genroute.workers.engines.models import SMOLLM2, resolve_model
from genroute.workers.engines.registry import PathConfig, build_engine, load_paths

# Engine -> (path it serves, task type routed to that path by the default policy).
CASES = {
    "transformers-causal": ("autoregressive", "extraction"),
    "diffusion-gemma": ("diffusion", "ticket_summary"),
    "openai-http": ("autoregressive", "extraction"),
}
ROOT = Path(__file__).resolve().parents[1]
SERVED_NAME = "smollm2-135m-instruct"  # what the vLLM server calls the model it serves


def engine_requests(settings: Settings, task_type: str, count: int, tokens: int) -> list[dict]:
    tickets = [t["input"] for t in sample_tickets(count)]
    # No fallback: every attempt runs on the engine under test, accepted or not.
    return [
        {"task_type": task_type, "input": text, "max_output_tokens": tokens, "fallback": "none"}
        for text in tickets
    ]


def direct(
    engine: Engine, in_process: bool, settings: Settings, requests: list[dict], width: int
) -> dict[str, float]:
    """Tokens/s calling the engine from this process with the very requests a worker builds
    (schema and all), at batch 1 and at `width`: an in-process engine in batches of `width`,
    a served one with every request sent at once (the engine keeps `width` in flight)."""
    catalog = load_catalog(settings.task_types_file)
    prompts = [
        engine_request(catalog.get(r["task_type"]), r, r["max_output_tokens"]) for r in requests
    ]
    engine.generate(prompts[:1])  # warm-up
    figures = {}
    for label, size in (("sequential", 1), ("batched", width)):
        started = time.perf_counter()
        if in_process or size == 1:
            slices = [prompts[i : i + size] for i in range(0, len(prompts), size)]
            generations = [g for batch in slices for g in engine.generate(batch)]
        else:
            with ThreadPoolExecutor(len(prompts)) as pool:
                generations = list(pool.map(lambda p: engine.generate([p])[0], prompts))
        tokens = sum(g.tokens_out for g in generations)
        figures[f"{label}_tokens_per_s"] = round(tokens / (time.perf_counter() - started), 2)
    return figures


def through_system(
    settings: Settings,
    path: str,
    config: PathConfig,
    requests: list[dict],
    folder: Path,
    worker_args: tuple[str, ...],
) -> tuple[float, float, dict[str, Any]]:
    """Tokens/s from first submission to last result, by the database's clock, the share of
    outputs accepted, and where the attempts ran."""
    live = only_path(settings, path, config, folder)
    with (
        running_stack(live, [path], folder / "logs", worker_args=worker_args) as stack,
        stack.http() as client,
    ):
        warm = client.post("/v1/tasks", json=requests[0]).json()["id"]
        wait_for_views(client, [warm])
        ids = submit_concurrently(client, requests)
        views = wait_for_views(client, ids)
        placement = _placement(views, stack.workers[path].pid)
    attempts = [a for v in views for a in v.attempts if a.path == path]
    broken = [a.error for a in attempts if a.outcome.value in ("error", "timeout")]
    if broken:  # the engine itself failed: no throughput to report
        raise SystemExit(f"benchmark attempts failed on {path}: {broken[:3]}")
    span = max(v.finished_at for v in views) - min(v.created_at for v in views)
    tokens = sum(a.tokens_out or 0 for a in attempts)
    accepted = sum(v.status.value == "succeeded" for v in views) / len(views)
    sizes = [float(a.engine_facts.get("batch_size") or 1) for a in attempts]
    placement["mean_batch_size"] = round(sum(sizes) / len(sizes), 2)
    return round(tokens / span.total_seconds(), 2), round(accepted, 3), placement


def only_path(settings: Settings, path: str, config: PathConfig, folder: Path) -> Settings:
    """Settings whose paths file serves `path` alone, as `config` says, under a policy that
    sends every task there (no rules, no shadows) with rollback off (no failure rate exceeds
    1): neither a rule nor rejected outputs may move a benchmark's tasks to another path."""
    name = f"{path}-{config.batch_width}-{abs(hash(config.model_dump_json()))}"
    paths_file = folder / f"paths-{name}.yaml"
    paths_file.write_text(yaml.safe_dump({"paths": {path: config.model_dump(mode="json")}}))
    policy = yaml.safe_load(settings.policy_file.read_text())
    policy["rollback"] = {**policy.get("rollback", {}), "max_failure_rate": 1.0}
    policy["default"] = {"path": path, "fallback": path, "reason": f"benchmark of {path}"}
    policy["rules"] = []
    policy_file = folder / f"policy-{path}-only.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    return settings.model_copy(update={"paths_file": paths_file, "policy_file": policy_file})


def _placement(views: list[TaskView], worker_pid: int) -> dict[str, Any]:
    attempts = [v.attempts[-1] for v in views]
    placement: dict[str, Any] = {
        "devices": sorted({str(a.engine_facts.get("device")) for a in attempts}),
        "gpu_ids": sorted({str(a.gpu_id) for a in attempts}),
        "worker_pids": sorted({a.worker_pid for a in attempts if a.worker_pid}),
    }
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return placement
    apps = {int(line.split(",")[0]): line.split(",")[1].strip() for line in listed.splitlines()}
    placement["nvidia_smi_apps"] = apps
    placement["worker_on_gpu"] = any(pid in apps for pid in placement["worker_pids"])
    return placement


def submit_concurrently(
    client: httpx.Client, requests: list[dict], producers: int = 8
) -> list[str]:
    """Submit as `producers` concurrent clients would: load arrives together, not in a queue."""
    with ThreadPoolExecutor(producers) as pool:
        responses = list(pool.map(lambda r: client.post("/v1/tasks", json=r), requests))
    return [response.raise_for_status().json()["id"] for response in responses]


def wait_for_views(client: httpx.Client, ids: list[str], timeout_s: float = 900) -> list[TaskView]:
    """Long-poll each task in turn (`?wait=`): no polling competes with the worker for the
    same cores, and no poll interval is added to a run; timings come from the database."""
    deadline = time.monotonic() + timeout_s
    views = []
    for task_id in ids:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"benchmark task {task_id} not finished in {timeout_s} s")
            wait = {"wait": min(60.0, left)}
            answer = client.get(f"/v1/tasks/{task_id}", params=wait, timeout=90)
            view = TaskView.model_validate(answer.raise_for_status().json())
            if view.status.is_terminal:
                views.append(view)
                break
    return views


def served_path(url: str, width: int) -> PathConfig:
    """The autoregressive path served by the vLLM server at `url`, as a GPU node declares it:
    chat API, structured outputs, batch width = the server's `--max-num-seqs`."""
    return PathConfig(
        queues=("autoregressive", "fallback"),
        engine="openai-http",
        model=SERVED_NAME,
        batch_width=width,
        params={"base_url": url, "api": "chat", "timeout_s": 300},
        capabilities={"structured_output": True},
    )


@contextlib.contextmanager
def engine_path(
    settings: Settings, name: str, args: argparse.Namespace, folder: Path
) -> Iterator[PathConfig]:
    """The path configuration the engine is benchmarked under (for openai-http, with its
    vLLM server running)."""
    path, _task_type = CASES[name]
    if name != "openai-http":
        base = load_paths(settings.paths_file)[path]
        if base.engine != name:
            raise SystemExit(f"workers/paths.yaml serves '{path}' with {base.engine}, not {name}")
        yield base
        return
    python = Path(args.vllm_python)
    if not python.exists():
        raise SystemExit(f"no vLLM environment at {python}: run `python3 dev.py test` once")
    model = Path(resolve_model(SMOLLM2, settings.model_cache_dir))
    with vllm_server(
        str(python), model, folder / "vllm.log", served_name=SERVED_NAME, max_num_seqs=args.width
    ) as (url, _process):
        yield served_path(url, args.width)


def bench_engine(settings: Settings, name: str, args: argparse.Namespace, folder: Path) -> dict:
    with engine_path(settings, name, args, folder) as base:
        return bench_path(settings, name, base, args, folder)


def bench_path(
    settings: Settings, name: str, base: PathConfig, args: argparse.Namespace, folder: Path
) -> dict:
    path, task_type = CASES[name]
    requests = engine_requests(settings, task_type, args.requests, args.tokens)
    engine = build_engine(base, settings.model_cache_dir, settings.torch_threads)
    direct_figures = direct(engine, base.in_process, settings, requests, args.width)
    del engine  # free the model before the workers load theirs
    worker_args = ("--gpu", str(args.gpu)) if args.gpu is not None else ()
    system: dict[str, Any] = {}
    # --quick runs the batched worker only: the suite's shared stack already runs a
    # batch-width-1 (prefork) worker, and each stack started here costs the suite ~20 s.
    arms = (
        (("batched", args.width),) if args.quick else (("sequential", 1), ("batched", args.width))
    )
    for label, width in arms:
        config = base.model_copy(update={"batch_width": width})
        speed, accepted, placement = through_system(
            settings, path, config, requests, folder, worker_args
        )
        system[f"{label}_tokens_per_s"] = speed
        system[f"{label}_accepted_share"] = accepted
        system[f"{label}_placement"] = placement
    return {
        "model": base.model,
        "path": path,
        "task_type": task_type,
        "requests": args.requests,
        "batch_width": args.width,
        "max_output_tokens": args.tokens,
        "direct": direct_figures,
        "system": system,
        "batched_over_sequential": (
            round(system["batched_tokens_per_s"] / system["sequential_tokens_per_s"], 2)
            if "sequential_tokens_per_s" in system
            else None
        ),
        "system_over_direct": round(
            system["batched_tokens_per_s"] / direct_figures["batched_tokens_per_s"], 2
        ),
        "direct_batched_over_sequential": round(
            direct_figures["batched_tokens_per_s"] / direct_figures["sequential_tokens_per_s"], 2
        ),
    }


def _gpu_name(gpu: int | None) -> str | None:
    if gpu is None:
        return None
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CUDA unavailable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--engines", default=",".join(CASES))
    parser.add_argument("--gpu", type=int, default=None, help="pin workers and direct calls")
    parser.add_argument(
        "--vllm-python",
        default=os.environ.get("GENROUTE_TEST_VLLM_PYTHON", ROOT / ".venv-vllm/bin/python"),
        help="the Python of a vLLM environment, for openai-http",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few short requests, batched arm only, for tests"
    )
    args = parser.parse_args()
    if args.quick:
        args.requests, args.width, args.tokens = 4, 2, 8
    if args.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(args.gpu)  # before torch loads, as workers do
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "torch_threads": Settings().torch_threads,
            "gpu": _gpu_name(args.gpu),
        },
        "engines": {},
    }
    # Servers of its own: no path state or queue left by another run can steer its tasks.
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        for name in args.engines.split(","):
            results["engines"][name] = bench_engine(live, name, args, Path(tmp))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
