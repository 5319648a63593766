"""Time to first streamed output through the whole system against the engine's own, per decode
style, in one run.

    .venv/bin/python bench/streaming.py [--requests 8] [--tokens 64] [--quick]

For each in-process engine, first the engine alone in this process (time from the call to its
first piece of output, and to its whole reply), then the same prompts through the system as a
producer streams them: the official `openai` client's `stream=True` chat completion against a
stack serving that path alone, one request at a time (so no queueing: what is measured is the
system's own cost: HTTP, the queue, the claim, the relay through Redis), with no fallback.
Each is streamed twice: with `genroute.stream_drafts` (every attempt's text as it is made) and
without (the default: only text validation can no longer refuse, so a task type whose checks
read the whole output shows its accepted output at once, and a refused one shows nothing).
Prints one JSON object with, per engine, medians of each and `system_over_engine_first_output`
per mode (their ratio); `first_over_complete` says how much sooner the first output arrives than the
whole reply (the autoregressive path streams tokens; DiffusionGemma streams a canvas at a
time, so for a one-canvas answer the first output is most of the wait). `--quick` is the short
run the test suite makes.
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import openai
from engines import only_path

from genroute.db.migrate import upgrade
from genroute.interfaces import GenerationRequest
from genroute.local.demo import sample_tickets
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import running_stack
from genroute.policies import load_catalog
from genroute.settings import Settings
from genroute.workers.engines.registry import build_engine, load_paths

# Engine -> (the path it serves, the task type asked for).
CASES = {
    "transformers-causal": ("autoregressive", "chat"),
    "diffusion-gemma": ("diffusion", "ticket_summary"),
}


def _messages(task_type: str, text: str) -> list[dict[str, str]]:
    if task_type == "chat":
        text = f"Reply to this customer in three sentences: {text}"
    return [{"role": "user", "content": text}]


class FirstOutput:
    """An `on_output` that notes when the first piece came."""

    def __init__(self) -> None:
        self.at: float | None = None

    def __call__(self, _piece: str) -> None:
        if self.at is None:
            self.at = time.perf_counter()


def engine_alone(settings: Settings, name: str, texts: list[str], tokens: int) -> dict:
    """Seconds to the first piece of output and to the whole reply, the engine called here."""
    path, task_type = CASES[name]
    kind = load_catalog(settings.task_types_file).get(task_type)
    engine = build_engine(
        load_paths(settings.paths_file)[path], settings.model_cache_dir, settings.torch_threads
    )
    firsts, wholes = [], []
    for index, text in enumerate([texts[0], *texts]):  # the first call warms up
        first = FirstOutput()
        prompt = kind.render_prompt(_messages(task_type, text)[0]["content"])
        request = GenerationRequest(
            kind.system_prompt,
            prompt,
            tokens,
            messages=(("user", prompt),) if kind.conversation else (),
            on_output=first,
        )
        started = time.perf_counter()
        engine.generate([request])
        if index and first.at is not None:
            firsts.append(first.at - started)
            wholes.append(time.perf_counter() - started)
    return {"first_output_s": _median(firsts), "complete_s": _median(wholes)}


def through_system(
    settings: Settings, name: str, texts: list[str], tokens: int, folder: Path
) -> dict:
    """The same prompts streamed by the openai client, one at a time, through a stack, in both
    relay modes: `drafts` (the client asks for every attempt's text as it is made) and
    `validated` (the default: only text validation can no longer refuse)."""
    path, task_type = CASES[name]
    config = load_paths(settings.paths_file)[path].model_copy(update={"batch_wait_ms": 0})
    live = only_path(settings, path, config, folder)
    with running_stack(live, [path], folder / f"logs-{name}") as stack:
        base_url = f"{stack.api_url}/v1"
        with openai.OpenAI(base_url=base_url, api_key=stack.api_key, max_retries=0) as sdk:
            return {
                mode: _streams(stack, sdk, task_type, texts, tokens, drafts=mode == "drafts")
                for mode in ("drafts", "validated")
            }


def _streams(
    stack: Any, sdk: openai.OpenAI, task_type: str, texts: list[str], tokens: int, drafts: bool
) -> dict:
    firsts, wholes, recorded = [], [], []
    for index, text in enumerate([texts[0], *texts]):
        started = time.perf_counter()
        first, task_id = None, None
        stream = sdk.chat.completions.create(
            model=task_type,
            messages=_messages(task_type, text),
            max_tokens=tokens,
            stream=True,
            extra_body={"genroute": {"fallback": "none", "stream_drafts": drafts}},
        )
        for chunk in _until_error(stream):
            task_id = task_id or ((chunk.model_extra or {}).get("genroute") or {}).get("task_id")
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        whole = time.perf_counter() - started
        if index and first is not None:
            firsts.append(first)
            wholes.append(whole)
            recorded.append(_recorded_first_output(stack, task_id))
    return {
        "first_output_s": _median(firsts),
        "complete_s": _median(wholes),
        # The worker's own record: its claim of the attempt to the engine's first output.
        "recorded_claim_to_first_output_s": _median([r for r in recorded if r is not None]),
        # Streams that showed any text: in `validated` mode a refused output shows none.
        "streams_with_output": len(firsts),
    }


def _until_error(stream: Any) -> Any:
    """The stream's chunks; a draft the validators refuse ends it with the task's error."""
    try:
        yield from stream
    except openai.APIError:
        return


def _recorded_first_output(stack: Any, task_id: str | None) -> float | None:
    """The worker's record: from the attempt's start (its claim) to the first output."""
    if task_id is None:
        return None
    with stack.http() as client:
        attempt = client.get(f"/v1/tasks/{task_id}").json()["attempts"][0]
    if not attempt["first_output_at"]:
        return None
    started = datetime.fromisoformat(attempt["started_at"])
    return (datetime.fromisoformat(attempt["first_output_at"]) - started).total_seconds()


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--engines", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true", help="a few short requests, for tests")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.tokens = 2, 16
    texts = [t["input"] for t in sample_tickets(args.requests)]
    result: dict[str, Any] = {
        "bench": "streaming",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "requests": args.requests,
        "max_output_tokens": args.tokens,
        "engines": {},
    }
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        for name in args.engines.split(","):
            alone = engine_alone(live, name, texts, args.tokens)
            system = through_system(live, name, texts, args.tokens, Path(tmp))
            result["engines"][name] = {
                "path": CASES[name][0],
                "task_type": CASES[name][1],
                "engine": alone,
                "system": system,
                "system_over_engine_first_output": {
                    mode: _ratio(figures["first_output_s"], alone["first_output_s"])
                    for mode, figures in system.items()
                },
                "first_over_complete": {
                    "engine": _ratio(alone["first_output_s"], alone["complete_s"]),
                    **{
                        mode: _ratio(figures["first_output_s"], figures["complete_s"])
                        for mode, figures in system.items()
                    },
                },
            }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
