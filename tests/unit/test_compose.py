"""The compose stack is valid Compose and keeps its invariants: one GPU per worker, only the
API exposed, secrets from the environment."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "data" / "compose" / "compose-spec.json"  # with its NOTICE
COMPOSE_FILES = sorted((ROOT / "compose").glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_matches_the_compose_specification(path: Path) -> None:
    # The schema names draft-07 without the trailing '#', so pick the validator explicitly.
    jsonschema.Draft7Validator(json.loads(SPEC.read_text())).validate(_load(path))


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_invariants(path: Path) -> None:
    services = _load(path)["services"]
    workers = {name: s for name, s in services.items() if s.get("command", [None])[0] == "worker"}
    assert workers, "no worker services"
    for name, service in workers.items():
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and len(devices[0]["device_ids"]) == 1, name
        assert "gpu" in devices[0]["capabilities"], name
    exposed = {name for name, s in services.items() if s.get("ports")}
    assert exposed == {"api"}
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert str(value).startswith("${"), f"{name}: {key} is written into the file"
            credentials = re.search(r"://[^:/@]+:([^@]+)@", str(value))
            if credentials:
                assert credentials.group(1).startswith("${"), f"{name}: {key} embeds a password"


def _gpu_ids(service: dict) -> list[str]:
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
    return [gpu for device in devices or [] for gpu in device.get("device_ids", [])]


VLLM = _load(ROOT / "compose" / "compose.yaml")["services"]
# vLLM's release the servers run: DiffusionGemma needs >= 0.24; the tests' CPU build is 0.32.0.
VLLM_IMAGE = "vllm/vllm-openai:v0.32.0"


def test_each_vllm_server_has_one_gpu_and_a_worker_bound_to_it() -> None:
    servers = {name: s for name, s in VLLM.items() if s.get("image", "").startswith("vllm/")}
    assert servers
    for name, server in servers.items():
        assert len(_gpu_ids(server)) == 1, name
        assert "--max-num-seqs" in server["command"], name
    workers = {name: s for name, s in VLLM.items() if s.get("command", [None])[0] == "worker"}
    bound = set()
    for name, worker in workers.items():
        path = worker["command"][worker["command"].index("--path") + 1]
        env = worker["environment"]
        assert env[f"GENROUTE_{path.upper()}_ENGINE"] == "openai-http", name
        base_url = json.loads(env[f"GENROUTE_{path.upper()}_PARAMS"])["base_url"]
        server = re.match(r"https?://([^:/]+)", base_url).group(1)
        assert server in servers, f"{name} talks to {server}, not a vLLM service"
        assert _gpu_ids(worker) == _gpu_ids(servers[server]), f"{name} is not beside {server}"
        assert worker["depends_on"][server]["condition"] == "service_healthy"
        assert env["GENROUTE_GPU_ID"] == _gpu_ids(servers[server])[0]
        bound.add(server)
    assert bound == set(servers)


def _flag(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


def test_the_diffusiongemma_server_follows_vllms_recipe() -> None:
    """recipes.vllm.ai/Google/diffusiongemma-26B-A4B-it and vllm.config.diffusion: four
    sequences at most (the self-conditioning buffers), canvas and steps as server settings,
    vLLM's generation config (the checkpoint's caps max_tokens at 256), 85% of GPU memory, the
    sampler's bound under the key vLLM reads (`diffusion_entropy_bound`: a bare `entropy_bound`
    is ignored silently), Triton attention (FlashInfer is refused for this model), and an image
    with diffusion support pinned to a release."""
    server = VLLM["vllm-diffusion-gpu0"]
    command = server["command"]
    assert server["image"] == VLLM_IMAGE and not VLLM_IMAGE.endswith((":latest", ":gemma"))
    assert _flag(command, "--max-num-seqs") == "4"
    assert json.loads(_flag(command, "--diffusion-config")) == {
        "canvas_length": 256,
        "max_denoising_steps": 48,
    }
    sampler = json.loads(_flag(command, "--hf-overrides"))
    assert sampler == {"diffusion_sampler": "entropy_bound", "diffusion_entropy_bound": 0.1}
    assert _flag(command, "--generation-config") == "vllm"
    assert _flag(command, "--gpu-memory-utilization") == "0.85"
    assert _flag(command, "--attention-backend") == "TRITON_ATTN"
    # Images through Gemma 4's vision encoder, as the recipe's full server takes them.
    assert json.loads(_flag(command, "--mm-processor-kwargs")) == {"max_soft_tokens": 1120}
    assert json.loads(_flag(command, "--limit-mm-per-prompt")) == {"image": 7}

    env = VLLM["worker-diffusion-gpu0"]["environment"]
    assert env["GENROUTE_DIFFUSION_BATCH_WIDTH"] == _flag(command, "--max-num-seqs")
    params = json.loads(env["GENROUTE_DIFFUSION_PARAMS"])
    assert params["api"] == "chat" and "extra_args" not in params  # nothing per request
    capabilities = json.loads(env["GENROUTE_DIFFUSION_CAPABILITIES"])
    assert capabilities == {
        "structured_output": False,
        "thinking": False,
        "modalities": ["text", "image", "video"],
    }


def test_the_api_routes_attachments_by_what_the_servers_take() -> None:
    """The API reads each path's modalities from the same environment as its worker, and a
    request shows a model no more images (frames included) than its server's per-prompt
    limit allows."""
    api = VLLM["api"]["environment"]
    for name, server in VLLM.items():
        if not name.startswith("vllm-"):
            continue
        path = name.split("-")[1].upper()
        limit = json.loads(_flag(server["command"], "--limit-mm-per-prompt"))["image"]
        assert int(api["GENROUTE_MAX_IMAGES_PER_REQUEST"]) <= limit, name
        assert int(api["GENROUTE_MAX_VIDEO_FRAMES"]) <= limit, name
        modalities = json.loads(api[f"GENROUTE_{path}_CAPABILITIES"])["modalities"]
        assert "image" in modalities, name
        worker = next(s for n, s in VLLM.items() if n.startswith(f"worker-{path.lower()}"))
        assert (
            worker["environment"][f"GENROUTE_{path}_CAPABILITIES"]
            == api[f"GENROUTE_{path}_CAPABILITIES"]
        )


def test_every_worker_keeps_as_many_requests_in_flight_as_its_server_serves() -> None:
    for name, worker in VLLM.items():
        if worker.get("command", [None])[0] != "worker":
            continue
        path = worker["command"][worker["command"].index("--path") + 1].upper()
        env = worker["environment"]
        server = re.match(
            r"https?://([^:/]+)", json.loads(env[f"GENROUTE_{path}_PARAMS"])["base_url"]
        )
        width = _flag(VLLM[server.group(1)]["command"], "--max-num-seqs")
        assert env[f"GENROUTE_{path}_BATCH_WIDTH"] == width, name
        # The API estimates waits and sizes fleets with the width the workers run.
        assert VLLM["api"]["environment"][f"GENROUTE_{path}_BATCH_WIDTH"] == width, name


def test_health_checks_allow_for_model_loading() -> None:
    def seconds(text: str) -> int:
        return int(text.removesuffix("s"))

    for name, service in VLLM.items():
        if service.get("image", "").startswith("vllm/"):
            assert seconds(service["healthcheck"]["start_period"]) >= 600, name
        elif service.get("command", [None])[0] in ("worker", "api"):
            assert seconds(service["healthcheck"]["start_period"]) >= 30, name
    assert "/readyz" in " ".join(VLLM["api"]["healthcheck"]["test"])


def test_everything_waits_for_the_one_shot_migration() -> None:
    assert VLLM["migrate"]["command"] == ["db", "upgrade"]
    assert VLLM["migrate"]["restart"] == "no"
    for name, service in VLLM.items():
        if service.get("command", [None])[0] in ("worker", "api"):
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name


def test_flower_is_internal_and_authenticated() -> None:
    flower = VLLM["flower"]
    assert flower["command"][0] == "flower" and "--local-dev" not in flower["command"]
    assert flower["environment"]["GENROUTE_FLOWER_USER"].startswith("${")
    assert flower["environment"]["GENROUTE_FLOWER_PASSWORD"].startswith("${")
    assert "ports" not in flower and flower["networks"] == ["internal"]


def test_prometheus_scrapes_the_api_and_every_worker() -> None:
    config = yaml.safe_load((ROOT / "compose" / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    # The API's metrics are on its operators' port, which is not published.
    assert "api:9000" in targets
    assert all("9000" not in str(published) for published in VLLM["api"]["ports"])
    port = VLLM["worker-diffusion-gpu0"]["environment"]["GENROUTE_WORKER_METRICS_PORT"]
    for name, service in VLLM.items():
        if service.get("command", [None])[0] == "worker":
            assert f"{name}:{port}" in targets, name


def test_the_grafana_dashboard_only_queries_metrics_genroute_exports() -> None:
    from genroute.observability import metrics

    exported = {c._name for c in vars(metrics).values() if hasattr(c, "_name")}
    exported |= set(metrics.SCRAPE_TIME_GAUGES)
    dashboard = json.loads(
        (ROOT / "deploy" / "kubernetes" / "base" / "grafana-dashboard.json").read_text()
    )
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"genroute_[a-z_]+", target.get("expr", ""))
    }
    suffixes = ("_total", "_bucket", "_sum", "_count")
    unknown = {
        q for q in queried if not any(q.removesuffix(s) in exported for s in ("", *suffixes))
    }
    assert not unknown, unknown
    assert len(dashboard["panels"]) >= 8
    # Trace panels query the traces' data source with TraceQL, by the names genroute's spans
    # carry (service names and span names as tests/integration/test_traces.py reads them).
    traceql = [t["query"] for p in dashboard["panels"] for t in p["targets"] if "query" in t]
    assert traceql and all("genroute" in query for query in traceql)
