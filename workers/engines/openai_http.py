"""HTTP engine for `vllm serve` on the worker's own node, or any OpenAI-compatible server.

The server batches; this engine keeps at most `max_in_flight` requests open (the server's
`--max-num-seqs`: vLLM's DiffusionGemma recipe allows 4), streams each reply to time its first
output, and turns connection failures, timeouts, 5xx answers and broken streams into engine
errors that the worker records as attempt outcomes. What the server is configured to do is
declared per path (`capabilities` in workers/paths.yaml): a schema-bound request goes out with
`response_format` (vLLM's structured outputs) only where the path declares
`structured_output`, and a chat model's thinking mode is set only where `thinking` is. Canvas
length and denoising steps are the server's settings (`--diffusion-config`), never a request's.
"""

import base64
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from genroute.errors import EngineError, EngineTimeout, EngineUnavailable
from genroute.interfaces import Generation, GenerationRequest
from genroute.workers.engines.openai_stream import read_reply, stream_lines


class HttpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^https?://")
    api: Literal["chat", "completions"] = "chat"
    served_model: str | None = None
    timeout_s: float = Field(default=300.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_in_flight: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    # Anything else a server reads per request (e.g. vLLM sampling options), in `extra_args_field`
    # of the body (vLLM reads `vllm_xargs`) or at its top level (None).
    extra_args: dict[str, Any] = Field(default_factory=dict)
    extra_args_field: str | None = "vllm_xargs"
    api_key_env: str | None = None
    # Set from the path's capabilities (workers/paths.yaml), not written here.
    structured_output: bool = False
    thinking: bool | None = None


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
        temperature = request.temperature if request.temperature is not None else p.temperature
        if temperature is not None:
            body["temperature"] = temperature
        if p.api == "chat":
            body["messages"] = _with_image_parts(request)
            if p.thinking is not None:  # a thinking chat model: on or off, as the path says
                body["chat_template_kwargs"] = {"enable_thinking": p.thinking}
            if self.constrains(request):
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "output",
                        "schema": request.json_schema,
                        "strict": True,
                    },
                }
            endpoint = "/chat/completions"
        else:
            if request.images:
                raise EngineError("images need the chat API (params.api: chat)")
            body["prompt"] = "\n\n".join(turn["content"] for turn in request.chat_messages())
            endpoint = "/completions"
        if p.extra_args:
            if p.extra_args_field:
                body[p.extra_args_field] = dict(p.extra_args)
            else:
                body.update(p.extra_args)
        return endpoint, body

    def constrains(self, request: GenerationRequest) -> bool:
        """Whether the server decodes this request under its JSON Schema: the path declares
        structured outputs, the request carries a schema, and it goes to the chat API."""
        p = self._params
        return p.structured_output and request.json_schema is not None and p.api == "chat"

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
                    late = f"{url} did not finish"
                    lines = stream_lines(response, deadline, request.cancel, late)
                    text, first_output_at, usage, finish = read_reply(lines, request.on_output)
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
            facts={
                "batch_size": 1,
                "server": self._params.base_url,
                "finish_reason": finish,
                "constrained_decoding": self.constrains(request),
            },
        )

    def close(self) -> None:
        self._client.close()


def _with_image_parts(request: GenerationRequest) -> list[dict[str, Any]]:
    """The chat messages, the last user turn led by its images as OpenAI content parts (each
    label as text, then the image as a data URL), as vLLM's multimodal chat API takes them."""
    messages: list[dict[str, Any]] = list(request.chat_messages())
    if not request.images:
        return messages
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    parts: list[dict[str, Any]] = []
    for image in request.images:
        encoded = base64.b64encode(image.data).decode()
        parts.append({"type": "text", "text": f"{image.label}:"})
        url = f"data:{image.media_type};base64,{encoded}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    parts.append({"type": "text", "text": messages[last_user]["content"]})
    messages[last_user] = {"role": "user", "content": parts}
    return messages


def _status_error(url: str, response: httpx.Response) -> EngineError:
    detail = response.text[:300]
    if response.status_code >= 500:
        return EngineUnavailable(f"{url} answered {response.status_code}: {detail}")
    return EngineError(f"{url} refused the request ({response.status_code}): {detail}")
