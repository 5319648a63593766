"""Images through the system against the engine called directly, in one run (so the ratio holds
on a shared, noisy machine), and the costs only images bring: decoding at submit and reading
their text (OCR) for grounding, with OCR's recall on the project's labelled image set.

- Throughput: `--requests` tickets, each with one image of the labelled set (bench/data/
  image_set.jsonl, rendered by genroute.local.screenshots), through the system (inline data URL
  -> decoded, bounded and stored at submit -> Redis -> a batched DiffusionGemma worker, which
  reads the bytes back and feeds them through the vision tower -> PostgreSQL), against the
  same engine called directly in batches of the same width with the very requests a worker
  builds, images included. `system_over_direct` (tokens/s) should be >= 0.9. The task type is
  `chat`, which runs no grounding, so the throughput arm holds no OCR; OCR is measured apart.
- Decode cost per image: Pillow decoding every pixel, as submit does.
- OCR: each labelled image read by Tesseract as grounding reads it; recall is the share of the
  facts drawn in the images (ids, amounts, dates, small print) found in what it read, case and
  spacing ignored; by kind and language, small print apart.

    .venv/bin/python bench/multimodal.py [--requests 16] [--width 4] [--tokens 32] [--quick]
"""

import argparse
import dataclasses
import io
import json
import os
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from engines import only_path, submit_concurrently, wait_for_views

from genroute.db.migrate import upgrade
from genroute.interfaces import ImageInput
from genroute.local.scratch_services import scratch_services
from genroute.local.screenshots import render
from genroute.local.stack import running_stack
from genroute.policies import load_catalog
from genroute.runtime.media import decode_image
from genroute.settings import Settings
from genroute.workers.claiming import engine_request
from genroute.workers.engines.registry import PathConfig, build_engine, load_paths
from genroute.workers.validation.ocr import read_image, reader_name

IMAGE_SET = Path(__file__).resolve().parent / "data" / "image_set.jsonl"
TASK_TYPE = "chat"


def labelled_images(count: int | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in IMAGE_SET.read_text().splitlines()]
    for row in rows[:count]:
        row["png"] = render(row["spec"])
    return rows[:count]


def _data_url(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()


def task_requests(rows: list[dict[str, Any]], count: int, tokens: int) -> list[dict[str, Any]]:
    """`count` requests, each a labelled image with its ticket; no fallback (one attempt)."""
    picked = [rows[index % len(rows)] for index in range(count)]
    return [
        {
            "task_type": TASK_TYPE,
            "input": row["ticket"],
            "attachments": [{"type": "image", "data": _data_url(row["png"]), "name": row["id"]}],
            "max_output_tokens": tokens,
            "fallback": "none",
        }
        for row in picked
    ]


def direct(
    settings: Settings, base: PathConfig, requests: list[dict], width: int
) -> dict[str, float]:
    """The engine in this process, in batches of `width`, with the requests a worker builds."""
    catalog = load_catalog(settings.task_types_file)
    engine = build_engine(base, settings.model_cache_dir, settings.torch_threads)
    prompts = [engine_request(catalog.get(TASK_TYPE), r, r["max_output_tokens"]) for r in requests]
    prompts = [  # each with its image as the worker labels it
        dataclasses.replace(p, images=(_image(r["attachments"][0]),))
        for p, r in zip(prompts, requests, strict=True)
    ]
    engine.generate(prompts[:1])  # warm-up
    started = time.perf_counter()
    generations = [
        g for i in range(0, len(prompts), width) for g in engine.generate(prompts[i : i + width])
    ]
    elapsed = time.perf_counter() - started
    return {
        "images_per_s": round(len(prompts) / elapsed, 3),
        "tokens_per_s": round(sum(g.tokens_out for g in generations) / elapsed, 2),
        "mean_tokens_in": round(statistics.mean(g.tokens_in for g in generations), 1),
    }


def _image(attachment: dict[str, str]) -> ImageInput:
    import base64

    png = base64.b64decode(attachment["data"].partition(",")[2])
    return ImageInput("image/png", png, f"attachments[0] ({attachment['name']})")


def through_system(
    settings: Settings, config: PathConfig, requests: list[dict], folder: Path
) -> dict[str, float]:
    """Images and tokens a second from first submission to last result (database clock)."""
    live = only_path(settings, "diffusion", config, folder)
    with (
        running_stack(live, ["diffusion"], folder / "logs") as stack,
        stack.http() as client,
    ):
        wait_for_views(client, [client.post("/v1/tasks", json=requests[0]).json()["id"]])
        views = wait_for_views(client, submit_concurrently(client, requests))
    attempts = [a for v in views for a in v.attempts]
    broken = [a.error for a in attempts if a.outcome.value in ("error", "timeout")]
    if broken:
        raise SystemExit(f"benchmark attempts failed: {broken[:3]}")
    span = (max(v.finished_at for v in views) - min(v.created_at for v in views)).total_seconds()
    return {
        "images_per_s": round(len(views) / span, 3),
        "tokens_per_s": round(sum(a.tokens_out or 0 for a in attempts) / span, 2),
        "mean_tokens_in": round(statistics.mean(a.tokens_in or 0 for a in attempts), 1),
        "mean_batch_size": round(
            statistics.mean(float(a.engine_facts.get("batch_size") or 1) for a in attempts), 2
        ),
    }


def decode_cost(rows: list[dict[str, Any]]) -> dict[str, float]:
    times = []
    for row in rows:
        started = time.perf_counter()
        decode_image(io.BytesIO(row["png"]), Settings().max_image_pixels)
        times.append((time.perf_counter() - started) * 1000)
    return {"mean": round(statistics.mean(times), 2), "max": round(max(times), 2)}


def _flat(text: str) -> str:
    return "".join(text.split()).lower()


def ocr_recall(rows: list[dict[str, Any]], languages: str) -> dict[str, Any]:
    """Facts found over facts drawn, overall, by kind, by language and for small print."""
    found: dict[str, list[bool]] = defaultdict(list)
    seconds = []
    for row in rows:
        reading = read_image(row["png"], languages)
        seconds.append(reading.seconds)
        text = _flat(reading.text or "")
        for fact in row["facts"]:
            hit = _flat(fact) in text
            for key in ("all", f"kind:{row['kind']}", f"language:{row['language']}"):
                found[key].append(hit)
            if fact in row["small_print"]:
                found["small_print"].append(hit)

    def share(key: str) -> float:
        return round(sum(found[key]) / len(found[key]), 3)

    return {
        "reader": reader_name(languages),
        "images": len(rows),
        "facts": len(found["all"]),
        "seconds_per_image": round(statistics.mean(seconds), 3),
        "recall": share("all"),
        "recall_by_kind": {k[5:]: share(k) for k in sorted(found) if k.startswith("kind:")},
        "recall_by_language": {k[9:]: share(k) for k in sorted(found) if k.startswith("language:")},
        "small_print_recall": share("small_print"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="a few requests and images")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.width, args.tokens = 4, 2, 8
    settings = Settings()
    rows = labelled_images(10 if args.quick else None)
    requests = task_requests(rows, args.requests, args.tokens)
    base = load_paths(settings.paths_file)["diffusion"]
    config = base.model_copy(update={"batch_width": args.width})
    results: dict[str, Any] = {
        "bench": "multimodal",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "model": base.model,
        "requests": args.requests,
        "batch_width": args.width,
        "max_output_tokens": args.tokens,
        "image_soft_tokens": base.params.get("image_soft_tokens"),
        "direct": direct(settings, config, requests, args.width),
    }
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        results["system"] = through_system(live, config, requests, Path(tmp))
    for figure in ("tokens_per_s", "images_per_s"):
        ratio = results["system"][figure] / results["direct"][figure]
        results[f"system_over_direct_{figure.removesuffix('_per_s')}"] = round(ratio, 3)
    results["system_over_direct"] = results["system_over_direct_tokens"]
    results["decode_ms_per_image"] = decode_cost(rows)
    results["ocr"] = ocr_recall(rows, settings.ocr_languages)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
