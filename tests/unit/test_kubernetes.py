"""The Kubernetes manifests render with `kubectl kustomize`, every object is valid against the
Kubernetes 1.32 schemas (strict: an unknown field fails) or, for ScaledObjects, KEDA's CRD
schema, and they keep their invariants: one GPU per GPU worker, a grace period that covers the
longest attempt, a ScaledObject on every GPU worker, probes that run real genroute commands,
the vLLM flags compose uses, and the image compose/Dockerfile builds."""

import copy
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from genroute.settings import Settings
from tests.cli_parsing import genroute_parses
from tests.doc_blocks import code_blocks, shell_commands

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted((ROOT / "deploy" / "kubernetes" / "overlays").iterdir())
KEDA_CRD = ROOT / "tests" / "data" / "keda" / "keda.sh_scaledobjects.yaml"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
KUBECTL = shutil.which("kubectl")
# Skipped only by hand on a machine without kubectl; in CI a missing one fails.
needs_kubectl = pytest.mark.skipif(
    not KUBECTL and not os.environ.get("CI"), reason="kubectl (with Kustomize) is not installed"
)
pytestmark = needs_kubectl


def _render(overlay: Path) -> list[dict]:
    rendered = subprocess.run(
        [KUBECTL or "kubectl", "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


RENDERED = {overlay.name: _render(overlay) for overlay in OVERLAYS} if KUBECTL else {}


def _of_kind(overlay: str, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in RENDERED[overlay] if o["kind"] == kind}


def _strict(schema: dict) -> dict:
    """KEDA's CRD schema with unknown fields refused wherever it lists the fields (the API
    server would prune them silently: a misspelt field must fail here instead)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            lists_fields = "properties" in node and "additionalProperties" not in node
            if lists_fields and not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


def test_there_are_dev_and_gpu_overlays() -> None:
    assert {overlay.name for overlay in OVERLAYS} == {"dev", "gpu"}


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_every_object_is_valid_against_its_schema(overlay: str) -> None:
    crd = yaml.safe_load(KEDA_CRD.read_text())
    [served] = [v for v in crd["spec"]["versions"] if v["served"]]
    scaled_object = _strict(served["schema"]["openAPIV3Schema"])
    for manifest in RENDERED[overlay]:
        where = f"{overlay}: {manifest['kind']} {manifest['metadata']['name']}"
        if manifest["kind"] == "ScaledObject":
            assert manifest["apiVersion"] == f"keda.sh/{served['name']}", where
            jsonschema.validate(manifest, scaled_object)
        else:
            try:
                kubernetes_validate.validate(manifest, "1.32.0", strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{where}: {error.message} at {list(error.path)}")


def _pod_containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def _gpus(deployment: dict) -> int:
    return sum(
        int(c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0))
        for c in _pod_containers(deployment)
    )


def _workers(overlay: str) -> dict[str, dict]:
    deployments = _of_kind(overlay, "Deployment")
    return {name: d for name, d in deployments.items() if name.startswith("genroute-worker-")}


def test_every_gpu_worker_holds_one_gpu_and_is_scaled_by_keda() -> None:
    workers = _workers("gpu")
    assert set(workers) == {"genroute-worker-diffusion", "genroute-worker-autoregressive"}
    targets = {
        o["spec"]["scaleTargetRef"]["name"] for o in _of_kind("gpu", "ScaledObject").values()
    }
    for name, worker in workers.items():
        assert _gpus(worker) == 1, name
        assert name in targets, f"no ScaledObject scales {name}"
        spec = worker["spec"]["template"]["spec"]
        assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"]), name
        assert spec["nodeSelector"], name
        assert "replicas" not in worker["spec"], f"{name}: KEDA owns its replicas"
    assert all(_gpus(worker) == 0 for worker in _workers("dev").values())


def test_scaling_reads_the_paths_backlog_and_outlasts_a_model_load() -> None:
    for name, scaled in _of_kind("gpu", "ScaledObject").items():
        path = name.removeprefix("genroute-worker-")
        [trigger] = scaled["spec"]["triggers"]
        assert trigger["type"] == "prometheus", name
        assert trigger["metadata"]["query"] == f'max(genroute_path_backlog{{path="{path}"}})'
        assert float(trigger["metadata"]["activationThreshold"]) >= 1
        worker = _workers("gpu")[name]
        [server] = [c for c in _pod_containers(worker) if c["name"] == "vllm"]
        probe = server["startupProbe"]
        model_load_s = probe["periodSeconds"] * probe["failureThreshold"]
        assert scaled["spec"]["cooldownPeriod"] >= model_load_s, name
        behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= model_load_s, name
        assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_a_worker_finishes_its_longest_attempt_before_it_is_killed(overlay: str) -> None:
    defaults = Settings()
    for name, worker in _workers(overlay).items():
        [container] = worker["spec"]["template"]["spec"]["containers"]
        grace_s = float(
            _env(container).get(
                "GENROUTE_WORKER_SHUTDOWN_GRACE_S", defaults.worker_shutdown_grace_s
            )
        )
        assert grace_s >= defaults.task_hard_time_limit_s, name
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace_s, name


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_every_genroute_command_and_probe_is_a_real_command(overlay: str) -> None:
    commands = []
    for deployment in [
        *_of_kind(overlay, "Deployment").values(),
        *_of_kind(overlay, "Job").values(),
    ]:
        pod = deployment["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            if container["image"].startswith("genroute:"):
                commands.append(container["args"])
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if command := container.get(probe, {}).get("exec", {}).get("command"):
                    assert command[0] == "genroute", command
                    commands.append(command[1:])
    assert commands
    for args in commands:
        genroute_parses(args)
    for name, worker in _workers(overlay).items():
        [container] = worker["spec"]["template"]["spec"]["containers"]
        path = container["args"][container["args"].index("--path") + 1]
        probes = [
            container[p]["exec"]["command"]
            for p in ("startupProbe", "readinessProbe", "livenessProbe")
        ]
        assert all(probe[1:4] == ["worker-health", "--path", path] for probe in probes), name


def _compose_command(service: dict) -> list[str]:
    """A compose command with `${VAR:-default}` read as its default."""
    return [re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", arg) for arg in service["command"]]


def test_the_vllm_servers_run_with_composes_flags_and_image() -> None:
    compose = yaml.safe_load((ROOT / "compose" / "compose.yaml").read_text())["services"]
    for name, worker in _workers("gpu").items():
        path = name.removeprefix("genroute-worker-")
        [server] = [c for c in _pod_containers(worker) if c["name"] == "vllm"]
        [composed] = [s for n, s in compose.items() if n.startswith(f"vllm-{path}-")]
        assert server["args"] == _compose_command(composed), path
        assert server["image"] == composed["image"], path
        assert server["restartPolicy"] == "Always"  # a native sidecar: up before the worker
        # Workers and the API read the width from the shared ConfigMap.
        config = _of_kind("gpu", "ConfigMap")
        [shared] = [c["data"] for name, c in config.items() if name.startswith("genroute-config")]
        width = shared[f"GENROUTE_{path.upper()}_BATCH_WIDTH"]
        assert width == server["args"][server["args"].index("--max-num-seqs") + 1], path
        # The API routes attachments by the same modalities and per-prompt image limit.
        api = compose["api"]["environment"]
        for name in ("GENROUTE_MAX_IMAGES_PER_REQUEST", f"GENROUTE_{path.upper()}_CAPABILITIES"):
            assert shared[name] == api[name], name
        for deployment in (worker, _of_kind("gpu", "Deployment")["genroute-api"]):
            [container] = deployment["spec"]["template"]["spec"]["containers"]
            assert any(
                source["configMapRef"]["name"].startswith("genroute-config")
                for source in container["envFrom"]
            ), deployment["metadata"]["name"]


def _dockerfile() -> dict[str, list[str]]:
    """compose/Dockerfile's instructions, continuation lines joined: {INSTRUCTION: [args]}."""
    text = (ROOT / "compose" / "Dockerfile").read_text().replace("\\\n", " ")
    instructions: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.setdefault(word.upper(), []).append(rest.strip())
    return instructions


def test_the_image_reads_screenshots_in_every_configured_language() -> None:
    """Workers read the text in attachments with Tesseract: the image installs it with a data
    pack for each language grounding reads by default."""
    installed = " ".join(_dockerfile()["RUN"])
    languages = Settings.model_fields["ocr_languages"].default.split("+")
    for package in ["tesseract-ocr", *(f"tesseract-ocr-{language}" for language in languages)]:
        assert f" {package} " in f" {installed} ", package


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_the_image_is_the_one_the_dockerfile_builds(overlay: str) -> None:
    dockerfile = _dockerfile()
    assert dockerfile["ENTRYPOINT"] == ['["genroute"]']  # manifests pass genroute's arguments
    assert f"-t genroute:{VERSION} ." in (ROOT / "compose" / "Dockerfile").read_text()
    [user] = dockerfile["USER"]
    exposed = {int(port) for line in dockerfile["EXPOSE"] for port in line.split()}
    for deployment in [
        *_of_kind(overlay, "Deployment").values(),
        *_of_kind(overlay, "Job").values(),
    ]:
        pod = deployment["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            if container["image"].startswith("vllm/"):
                continue
            where = f"{deployment['metadata']['name']}/{container['name']}"
            assert container["image"] == f"genroute:{VERSION}", where
            assert pod["securityContext"]["runAsUser"] == int(user), where
            ports = {port["containerPort"] for port in container.get("ports", [])}
            assert ports <= exposed, where


def _secret_references(overlay: str) -> set[tuple[str, str]]:
    references = set()
    for deployment in [
        *_of_kind(overlay, "Deployment").values(),
        *_of_kind(overlay, "Job").values(),
    ]:
        for container in _pod_containers(deployment):
            for variable in container.get("env", []):
                if ref := variable.get("valueFrom", {}).get("secretKeyRef"):
                    references.add((ref["name"], ref["key"]))
    return references


def test_the_docs_create_every_secret_the_manifests_reference(tmp_path: Path) -> None:
    """The Kubernetes page's kubectl example runs client-side (--dry-run=client, no cluster)
    and creates each secret name and key a manifest reads."""
    [code] = [
        code
        for where, code in code_blocks("bash")
        if where.startswith("docs/operators/kubernetes.md")
        and all(words[0] == "kubectl" for words in shell_commands(code))
    ]
    dry_run = 'kubectl() { echo ---; command kubectl "$@" --dry-run=client -o yaml; }\n'
    ran = subprocess.run(
        ["bash", "-c", dry_run + "set -euo pipefail\n" + code],
        env={**os.environ, "HF_TOKEN": "hf_example", "KUBECONFIG": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    created = {
        (doc["metadata"]["name"], key)
        for doc in yaml.safe_load_all(ran.stdout)
        if doc and doc["kind"] == "Secret"
        for key in doc["data"]
    }
    for overlay in RENDERED:
        assert _secret_references(overlay) <= created, overlay
