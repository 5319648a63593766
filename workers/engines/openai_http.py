"""HTTP engine for `vllm serve` on the worker's own node, or any OpenAI-compatible server.

The server batches; this engine keeps at most `max_in_flight` requests open (the server's batch
width: vLLM caps DiffusionGemma at 8 sequences by default), streams each reply to time its first
output, and turns connection failures, timeouts and 5xx answers into engine errors that the
worker records as attempt outcomes. Diffusion options travel per request as extra args
(`vllm_xargs` for vLLM, e.g. `diffusion_max_steps`, `diffusion_canvas_length`).
"""

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from genroute.errors import ClaimLost, EngineError, EngineTimeout, EngineUnavailable
from genroute.interfaces import Generation, GenerationRequest


class HttpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^https?://")
    api: Literal["chat", "completions"] = "chat"
    served_model: str | None = None
    timeout_s: float = Field(default=300.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_in_flight: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    extra_args: dict[str, Any] = Field(default_factory=dict)
    # Where extra args go in the body: vLLM reads `vllm_xargs`; None puts them at the top level.
    extra_args_field: str | None = "vllm_xargs"
    api_key_env: str | None = None


class OpenAIHttpEngine:
    name = "openai-http"
    in_process = False

    def __init__(self, model: str, _source: str, params: HttpParams, _torch_threads: int) -> None:
        self.model = model
        self._params = params
        self._slots = threading.BoundedSemaphore(params.max_in_flight or 1)
        headers = {}
        if params.api_key_env:
            headers["authorization"] = f"Bearer {os.environ.get(params.api_key_env, '')}"
        self._client = httpx.Client(
            base_url=params.base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(params.timeout_s, connect=params.connect_timeout_s),
        )

    def _body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        p = self._params
        body: dict[str, Any] = {
            "model": p.served_model or self.model,
            "max_tokens": request.max_output_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if p.temperature is not None:
            body["temperature"] = p.temperature
        if p.api == "chat":
            body["messages"] = [
                {"role": "system", "content": request.system_prompt},
                {"role": "user", "content": request.prompt},
            ]
            endpoint = "/chat/completions"
        else:
            body["prompt"] = f"{request.system_prompt}\n\n{request.prompt}"
            endpoint = "/completions"
        if p.extra_args:
            if p.extra_args_field:
                body[p.extra_args_field] = dict(p.extra_args)
            else:
                body.update(p.extra_args)
        return endpoint, body

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        return [self._one(request) for request in requests]

    def _one(self, request: GenerationRequest) -> Generation:
        endpoint, body = self._body(request)
        url = f"{self._params.base_url.rstrip('/')}{endpoint}"
        timeout_s = self._params.timeout_s
        with self._slots:
            started_at = datetime.now(UTC)
            # httpx's timeouts are per read: a server that trickles bytes would never trip
            # them, so the whole reply also has a deadline, checked as each chunk arrives.
            deadline = time.monotonic() + timeout_s
            try:
                with self._client.stream("POST", endpoint, json=body) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise _status_error(url, response)
                    lines = _lines(response, deadline, request.cancel, f"{url} did not finish")
                    text, first_output_at, usage, finish = _consume(lines)
            except httpx.TimeoutException as exc:
                raise EngineTimeout(f"{url} did not answer within {timeout_s}s") from exc
            except httpx.TransportError as exc:
                raise EngineUnavailable(f"cannot reach {url}: {exc}") from exc
        return Generation(
            text=text.strip(),
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=int(usage.get("completion_tokens", 0)),
            started_at=started_at,
            first_output_at=first_output_at,
            finished_at=datetime.now(UTC),
            facts={"batch_size": 1, "server": self._params.base_url, "finish_reason": finish},
        )

    def close(self) -> None:
        self._client.close()


def _status_error(url: str, response: httpx.Response) -> EngineError:
    detail = response.text[:300]
    if response.status_code >= 500:
        return EngineUnavailable(f"{url} answered {response.status_code}: {detail}")
    return EngineError(f"{url} refused the request ({response.status_code}): {detail}")


def _lines(
    response: httpx.Response, deadline: float, cancel: threading.Event | None, late: str
) -> Iterator[str]:
    """The stream's lines, ending it (and the request) once the deadline passes or nobody
    wants the reply any more."""
    pending = ""
    for chunk in response.iter_text():
        if time.monotonic() > deadline:
            raise EngineTimeout(f"{late} within its deadline")
        if cancel is not None and cancel.is_set():
            raise ClaimLost("the task was taken over by another worker; request abandoned")
        pending += chunk
        *complete, pending = pending.split("\n")
        yield from (line.rstrip("\r") for line in complete)
    if pending:
        yield pending


def _consume(lines: Iterator[str]) -> tuple[str, datetime | None, dict[str, Any], str | None]:
    """Read an OpenAI server-sent event stream: text, first-output time, usage, finish reason.
    An error event in the stream (a server failing mid-reply) is an engine error, never a
    reply; a stream that ends without `[DONE]` or a finish reason is one too."""
    parts: list[str] = []
    first_output_at = None
    usage: dict[str, Any] = {}
    finish = None
    done = False
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise EngineError(f"the server failed mid-reply: {message}")
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
            if piece and first_output_at is None:
                first_output_at = datetime.now(UTC)
            parts.append(piece)
            finish = choice.get("finish_reason") or finish
    if not done and finish is None:
        raise EngineError("the stream ended before the reply did (no [DONE], no finish reason)")
    return "".join(parts), first_output_at, usage, finish
