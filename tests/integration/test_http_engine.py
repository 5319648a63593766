"""The OpenAI-compatible HTTP engine end to end: API -> Redis -> a real Celery worker -> a real
vLLM server (CPU build, tiny random Llama) -> PostgreSQL, on a stack of its own."""

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest
import yaml

from genroute.errors import ClaimLost, EngineError, EngineTimeout, EngineUnavailable, PolicyError
from genroute.interfaces import GenerationRequest
from genroute.local.stack import Stack, running_stack
from genroute.local.vllm_server import build_tiny_llama, vllm_server
from genroute.settings import Settings
from genroute.workers.engines.models import SMOLLM2, resolve_model
from genroute.workers.engines.openai_http import HttpParams, OpenAIHttpEngine
from genroute.workers.engines.registry import PathConfig, build_engine, load_paths
from tests.helpers import isolated_settings, ticket, wait_for_task

pytestmark = pytest.mark.integration

VLLM_PYTHON = os.environ.get("GENROUTE_TEST_VLLM_PYTHON")
# Skipped only by hand (a bare `pytest` with no vLLM environment); in CI a missing one fails.
needs_vllm = pytest.mark.skipif(
    not VLLM_PYTHON and not os.environ.get("CI"),
    reason="no vLLM environment: `python3 dev.py test` sets one up",
)


@pytest.fixture(scope="module")
def vllm(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    if not VLLM_PYTHON or not Path(VLLM_PYTHON).exists():
        pytest.fail(f"no vLLM environment at {VLLM_PYTHON!r} (GENROUTE_TEST_VLLM_PYTHON)")
    folder = tmp_path_factory.mktemp("vllm")
    model = build_tiny_llama(
        folder / "tiny-llama", resolve_model(SMOLLM2, settings.model_cache_dir)
    )
    with vllm_server(VLLM_PYTHON, model, folder / "vllm.log") as server:
        yield server


@pytest.fixture(scope="module")
def http_stack(settings: Settings, vllm: tuple, tmp_path_factory: pytest.TempPathFactory):
    url, _process = vllm
    folder = tmp_path_factory.mktemp("http-stack")
    paths = folder / "paths.yaml"
    common = {"engine": "openai-http", "model": "tiny-llama", "batch_width": 4}
    paths.write_text(
        json.dumps(
            {
                "paths": {
                    "autoregressive": {
                        **common,
                        "queues": ["autoregressive", "fallback"],
                        "params": {"base_url": url, "api": "chat", "timeout_s": 60},
                        # vLLM's structured outputs decode schema-bound requests.
                        "capabilities": {"structured_output": True},
                    },
                    "diffusion": {
                        **common,
                        "queues": ["diffusion"],
                        "params": {"base_url": url, "api": "completions"},
                    },
                }
            }
        )
    )
    # A random model never ends its reply: these tests accept replies cut at the token limit
    # for reasoning answers too (the shipped catalog accepts them for synthetic examples only).
    catalog = yaml.safe_load(settings.task_types_file.read_text())
    catalog["task_types"]["reasoning_answer"]["validation"]["accept_truncated"] = True
    task_types = folder / "task_types.yaml"
    task_types.write_text(yaml.safe_dump(catalog))
    with (
        isolated_settings(
            settings, redis_db=14, paths_file=paths, task_types_file=task_types
        ) as own,
        running_stack(own, ["autoregressive", "diffusion"], folder / "logs") as stack,
    ):
        yield stack


@needs_vllm
def test_both_apis_through_a_worker_and_vllm(http_stack: Stack) -> None:
    with http_stack.http() as client:
        # Types whose checks random text passes (no grounding, no schema): the engine is under test.
        chat = client.post(
            "/v1/tasks", json=ticket(task_type="reasoning_answer", max_output_tokens=12)
        )
        completion = client.post(
            "/v1/tasks", json=ticket(task_type="synthetic_examples", max_output_tokens=12)
        )
        views = [wait_for_task(client, r.json()["id"]) for r in (chat, completion)]
    for view, path in zip(views, ["autoregressive", "diffusion"], strict=True):
        assert view.status.value == "succeeded", view.error
        [attempt] = view.attempts
        assert (attempt.path, attempt.engine, attempt.model) == (path, "openai-http", "tiny-llama")
        assert attempt.tokens_out == 12 and attempt.tokens_in > 0
        assert view.output
        assert attempt.started_at <= attempt.first_output_at <= attempt.finished_at
        assert attempt.engine_facts["finish_reason"] == "length"


@needs_vllm
def test_a_stream_relays_vllms_deltas_through_genroute(http_stack: Stack) -> None:
    """The openai SDK streaming from genroute, whose worker streams from vLLM: the server's
    deltas arrive as chunks, and they add up to the accepted output."""
    base_url = f"{http_stack.api_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=http_stack.api_key, max_retries=0) as sdk:
        chunks = list(
            sdk.chat.completions.create(
                model="chat",
                messages=[{"role": "user", "content": "Hello there"}],
                max_tokens=12,
                stream=True,
            )
        )
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    final = chunks[-1].model_extra["genroute"]
    assert final["status"] == "succeeded" and final["attempt_paths"] == ["autoregressive"]
    assert len(pieces) > 1 and "".join(pieces).strip() == final["output"]


@needs_vllm
def test_a_schema_bound_task_is_decoded_under_its_schema_by_vllm(http_stack: Stack) -> None:
    """Even a random model answers schema-valid JSON when vLLM decodes under the schema."""
    schema = {
        "type": "object",
        "properties": {
            "priority": {"enum": ["low", "high"]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 2},
        },
        "required": ["priority", "tags"],
        "additionalProperties": False,
    }
    body = ticket(task_type="reasoning_answer", json_schema=schema, schema_required=True)
    body["max_output_tokens"] = 64
    with http_stack.http() as client:
        view = wait_for_task(client, client.post("/v1/tasks", json=body).json()["id"])
    first = view.attempts[0]
    assert first.path == "autoregressive" and first.engine_facts["constrained_decoding"] is True
    [verdict] = [v for v in first.validations if v.validator == "json_schema"]
    assert verdict.passed, (first.output_text, verdict.details)


@needs_vllm
def test_concurrent_requests_all_complete(http_stack: Stack) -> None:
    with http_stack.http() as client:
        ids = [
            client.post(
                "/v1/tasks", json=ticket(task_type="synthetic_examples", max_output_tokens=12)
            ).json()["id"]
            for _ in range(10)
        ]
        views = [wait_for_task(client, task_id) for task_id in ids]
    assert [v.status.value for v in views] == ["succeeded"] * 10


@needs_vllm
def test_server_gone_is_an_attempt_outcome(http_stack: Stack, vllm: tuple) -> None:
    """Runs last in this module: it stops the vLLM server."""
    _url, process = vllm
    process.terminate()
    process.wait(timeout=30)
    with http_stack.http() as client:
        task_id = client.post("/v1/tasks", json=ticket(max_output_tokens=6)).json()["id"]
        view = wait_for_task(client, task_id)
    assert view.status.value == "failed"
    # Every attempt, the fallbacks included, found the server gone; the budget ends it.
    assert [a.outcome.value for a in view.attempts] == ["error"] * 3
    assert all(a.gpu_seconds is not None and a.gpu_seconds >= 0 for a in view.attempts)
    assert [a.queue for a in view.attempts] == ["diffusion", "fallback", "fallback"]
    for attempt in view.attempts:
        assert "cannot reach" in attempt.error and "EngineUnavailable" in attempt.error
    assert "attempt budget of 3 spent" in view.error


class _Scripted(BaseHTTPRequestHandler):
    """A local HTTP server that answers the way a failing inference server can, and keeps the
    last request body it was sent."""

    mode = "503"
    bodies: list[dict] = []
    released: threading.Event  # set when the test ends: a held "slow" reply goes out

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.bodies.append(json.loads(raw or b"{}"))
        if self.mode == "ok":
            reply = {"choices": [{"delta": {"content": "{}"}, "finish_reason": "stop"}]}
            self._events([json.dumps(reply)])
            return
        if self.mode in ("trickle", "error-event"):
            self._stream()
            return
        if self.mode == "slow":  # answers after the client's timeout, or when the test ends
            self.released.wait(timeout=3)
        status = 503 if self.mode == "503" else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b'{"error": "overloaded"}')

    def _events(self, payloads: list[str]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for payload in [*payloads, "[DONE]"]:
            self.wfile.write(f"data: {payload}\n\n".encode())

    def _stream(self) -> None:
        """A 200 event stream: one chunk every 0.2 s for 5 s (each well inside any read
        timeout), or a first chunk then the server's own error event."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        piece = json.dumps({"choices": [{"delta": {"content": "x"}}]})
        events = [f"data: {piece}\n\n"] * (25 if self.mode == "trickle" else 1)
        if self.mode == "error-event":
            events.append('data: {"error": {"message": "CUDA out of memory"}}\n\n')
        for event in [*events, "data: [DONE]\n\n"]:
            try:
                self.wfile.write(event.encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up, as it should
            time.sleep(0.2 if self.mode == "trickle" else 0)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"bodies": [], "released": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    handler.released.set()
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def _engine(url: str, **params: object) -> Iterator[OpenAIHttpEngine]:
    engine = OpenAIHttpEngine("m", "m", HttpParams(base_url=url, max_in_flight=2, **params), 1)
    try:
        yield engine
    finally:
        engine.close()


REQUEST = GenerationRequest("system", "prompt", 4)


def test_5xx_is_unavailable(scripted_server: tuple) -> None:
    url, _handler = scripted_server
    with _engine(url) as engine, pytest.raises(EngineUnavailable, match="answered 503"):
        engine.generate([REQUEST])


def test_slow_server_times_out(scripted_server: tuple) -> None:
    url, handler = scripted_server
    handler.mode = "slow"
    with (
        _engine(url, timeout_s=0.5) as engine,
        pytest.raises(EngineTimeout, match=r"did not answer within 0\.5s"),
    ):
        engine.generate([REQUEST])


def test_refused_connection_is_unavailable() -> None:
    with (
        _engine("http://127.0.0.1:9/v1", connect_timeout_s=1) as engine,
        pytest.raises(EngineUnavailable, match="cannot reach"),
    ):
        engine.generate([REQUEST])
    assert issubclass(EngineUnavailable, EngineError)


def test_a_reply_that_outlasts_its_deadline_times_out(scripted_server: tuple) -> None:
    """Bytes arrive every 0.2 s, so no read ever times out; the whole reply has 1 s."""
    url, handler = scripted_server
    handler.mode = "trickle"
    started = time.monotonic()
    with _engine(url, timeout_s=1) as engine, pytest.raises(EngineTimeout, match="deadline"):
        engine.generate([REQUEST])
    assert time.monotonic() - started < 3


def test_a_servers_error_event_fails_the_attempt(scripted_server: tuple) -> None:
    url, handler = scripted_server
    handler.mode = "error-event"
    with _engine(url) as engine, pytest.raises(EngineError, match="CUDA out of memory"):
        engine.generate([REQUEST])


def test_a_cancelled_request_is_abandoned(scripted_server: tuple) -> None:
    url, handler = scripted_server
    handler.mode = "trickle"
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    request = GenerationRequest("system", "prompt", 4, cancel=cancel)
    with _engine(url, timeout_s=30) as engine, pytest.raises(ClaimLost):
        engine.generate([request])
    assert time.monotonic() - started < 3


def _served(url: str, api: str = "chat", **capabilities: object) -> OpenAIHttpEngine:
    config = PathConfig(
        queues=("autoregressive",),
        engine="openai-http",
        model="m",
        params={"base_url": url, "api": api},
        capabilities=capabilities,
    )
    return build_engine(config, Path("/nonexistent"), 1)


def test_response_format_goes_only_where_the_path_declares_structured_output(
    scripted_server: tuple,
) -> None:
    url, handler = scripted_server
    handler.mode = "ok"
    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    bound = GenerationRequest("system", "prompt", 16, json_schema=schema)
    for capabilities, sent in (({"structured_output": True}, True), ({}, False)):
        handler.mode = "ok"
        engine = _served(url, **capabilities)
        [generation] = engine.generate([bound])
        engine.close()
        body = handler.bodies[-1]
        assert ("response_format" in body) is sent, body
        assert generation.facts["constrained_decoding"] is sent
    assert handler.bodies[-2]["response_format"]["json_schema"]["schema"] == schema
    handler.mode = "ok"
    engine = _served(url, structured_output=True)
    engine.generate([GenerationRequest("system", "prompt", 16)])  # no schema: nothing to bind
    engine.close()
    assert "response_format" not in handler.bodies[-1]


def test_a_conversation_goes_as_given_with_its_temperature(scripted_server: tuple) -> None:
    url, handler = scripted_server
    handler.mode = "ok"
    pieces: list[str] = []
    turns = (("user", "Hi"), ("assistant", "Hello"), ("user", "Again"))
    request = GenerationRequest(
        "system", "unused", 8, messages=turns, temperature=0.7, on_output=pieces.append
    )
    engine = _served(url)
    [generation] = engine.generate([request])
    engine.close()
    body = handler.bodies[-1]
    assert body["messages"] == [
        {"role": "system", "content": "system"},
        *({"role": role, "content": text} for role, text in turns),
    ]
    assert body["temperature"] == 0.7
    assert "".join(pieces) == generation.text == "{}"


def test_thinking_is_set_only_where_the_path_says(scripted_server: tuple) -> None:
    url, handler = scripted_server
    for capabilities, expected in (({"thinking": False}, {"enable_thinking": False}), ({}, None)):
        handler.mode = "ok"
        engine = _served(url, **capabilities)
        engine.generate([REQUEST])
        engine.close()
        assert handler.bodies[-1].get("chat_template_kwargs") == expected
        assert "vllm_xargs" not in handler.bodies[-1]  # no per-request canvas or steps


def test_a_diffusion_path_never_declares_structured_output(tmp_path: Path) -> None:
    paths = tmp_path / "paths.yaml"
    paths.write_text(
        "paths:\n  diffusion: {queues: [diffusion], engine: openai-http, model: m, "
        "params: {base_url: 'http://127.0.0.1:1/v1'}, capabilities: {structured_output: true}}\n"
    )
    with pytest.raises(PolicyError, match="vLLM issues 45436, 45468"):
        load_paths(paths)
