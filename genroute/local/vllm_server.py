"""A real vLLM server (CPU build, from `.venv-vllm`, which `python3 dev.py test` sets up), for
testing and benchmarking the HTTP engine the way GPU nodes use it: a tiny random Llama for
tests, any local model folder for benchmarks."""

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from genroute.local.processes import terminate
from genroute.local.stack import free_port


def build_tiny_llama(target: Path, tokenizer_source: str) -> Path:
    """A 2-layer Llama with random weights (seed 0) and SmolLM2's tokenizer; vLLM's CPU
    attention needs a head dimension of at least 32."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if (target / "model.safetensors").exists():
        return target
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


# As compose.yaml's autoregressive server: compact JSON under llguidance (a weak model
# otherwise pads schema-bound replies with whitespace up to the token limit).
STRUCTURED_OUTPUTS = [
    "--structured-outputs-config",
    json.dumps({"backend": "guidance", "disable_any_whitespace": True}),
]


@contextlib.contextmanager
def vllm_server(
    python: str,
    model: Path,
    log_path: Path,
    start_timeout_s: float = 300,
    served_name: str = "tiny-llama",
    max_num_seqs: int = 4,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `python -m vllm.entrypoints.openai.api_server` serving `model` as `served_name`,
    at most `max_num_seqs` sequences at once; yield its /v1 URL and process."""
    port = free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "WARNING"}
    command = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--served-model-name",
        served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--enforce-eager",
        "--dtype",
        "float32",
        "--max-model-len",
        "1024",
        "--max-num-seqs",
        str(max_num_seqs),
        *STRUCTURED_OUTPUTS,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            _wait_healthy(process, port, log_path, start_timeout_s)
            yield f"http://127.0.0.1:{port}/v1", process
        finally:
            terminate(process, grace_s=30)


def _wait_healthy(
    process: subprocess.Popen[bytes], port: int, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"vLLM exited ({process.returncode}):\n{log_path.read_text()[-3000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        time.sleep(1)
    raise RuntimeError(f"vLLM not healthy after {timeout_s}s:\n{log_path.read_text()[-3000:]}")
