"""The explicit engine registry and the per-path engine configuration (workers/paths.yaml,
overridable per field by GENROUTE_<PATH>_<FIELD> environment variables).

Nothing registers itself on import: an engine is available because it is listed here.
"""

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genroute.config import read_yaml_mapping, validate_mapping
from genroute.contract import Modality, PathName, PrivacyTier
from genroute.errors import PolicyError
from genroute.interfaces import Engine
from genroute.runtime.placement import location_of_url
from genroute.runtime.queueing import QUEUES
from genroute.workers.engines.diffusion_gemma import DiffusionGemmaEngine, DiffusionParams
from genroute.workers.engines.models import resolve_model
from genroute.workers.engines.openai_http import HttpParams, OpenAIHttpEngine
from genroute.workers.engines.transformers_causal import CausalParams, TransformersCausalEngine


@dataclass(frozen=True)
class EngineSpec:
    """How to check an engine's params and build it: (model name, weights source, params,
    torch threads) -> Engine. `in_process` engines hold the model and are batched here.
    `data_location` declares where the engine sends a request's data, given its params."""

    params: type[BaseModel]
    build: Callable[[str, str, Any, int], Engine]
    in_process: bool
    data_location: Callable[[Any], PrivacyTier]
    # Can decode a request under its JSON Schema (the path's `structured_output` capability).
    decodes_under_schemas: bool = False
    # Can pass images to its model (a path may declare `modalities` beyond text).
    sees_images: bool = False


def _on_this_node(_params: BaseModel) -> PrivacyTier:
    return PrivacyTier.node


def _where_the_server_is(params: HttpParams) -> PrivacyTier:
    return location_of_url(params.base_url)


ENGINES: dict[str, EngineSpec] = {
    TransformersCausalEngine.name: EngineSpec(
        CausalParams, TransformersCausalEngine, True, _on_this_node, decodes_under_schemas=True
    ),
    DiffusionGemmaEngine.name: EngineSpec(
        DiffusionParams, DiffusionGemmaEngine, True, _on_this_node, sees_images=True
    ),
    OpenAIHttpEngine.name: EngineSpec(
        HttpParams,
        OpenAIHttpEngine,
        False,
        _where_the_server_is,
        decodes_under_schemas=True,
        sees_images=True,
    ),
}

# Fields an environment variable may override, and how to read its text.
PATH_ENV_FIELDS: dict[str, Callable[[str], Any]] = {
    "engine": str,
    "model": str,
    "batch_width": int,
    "batch_wait_ms": int,
    "claim_ahead": int,
    "cost_per_gpu_hour": float,
    "usd_per_million_input_tokens": float,
    "usd_per_million_output_tokens": float,
    "params": json.loads,
    "capabilities": json.loads,
    "data_location": str,
}


class PathCapabilities(BaseModel):
    """What the path's server is configured to do, declared beside it so the worker asks only
    for that: `structured_output` (the server decodes under a request's JSON Schema, vLLM's
    structured outputs), `thinking` (a chat model's thinking mode on or off; unset: the
    server's default) and `modalities` (what its model takes in: text, and images and video
    frames for a multimodal model; requests with attachments are routed only where they are
    taken)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    structured_output: bool = False
    thinking: bool | None = None
    modalities: frozenset[Modality] = frozenset({Modality.text})

    @model_validator(mode="after")
    def _takes_text(self) -> "PathCapabilities":
        if Modality.text not in self.modalities:
            raise ValueError("modalities must include text (every request has text)")
        return self


class PathConfig(BaseModel):
    """One path's queues, engine, model, batching and cost, and engine params (checked
    against the engine's own params model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: tuple[str, ...] = Field(min_length=1)
    engine: str
    model: str = Field(min_length=1)
    batch_width: int = Field(default=1, ge=1, le=256)
    batch_wait_ms: int = Field(default=20, ge=0, le=10_000)
    # Requests a batched worker claims beyond its batch width, waiting while a batch runs so
    # the next starts the moment the engine is free (unset: one batch width more).
    claim_ahead: int | None = Field(default=None, ge=0, le=256)
    # Prices in USD: engine time for a self-hosted path, tokens for an external one (or both).
    cost_per_gpu_hour: float = Field(default=0.0, ge=0)
    usd_per_million_input_tokens: float = Field(default=0.0, ge=0)
    usd_per_million_output_tokens: float = Field(default=0.0, ge=0)
    # What the API promises producers about this path (privacy tiers route by it).
    data_location: PrivacyTier = PrivacyTier.node
    params: dict[str, Any] = Field(default_factory=dict)
    capabilities: PathCapabilities = Field(default_factory=PathCapabilities)

    @model_validator(mode="after")
    def _known_parts(self) -> "PathConfig":
        unknown = sorted(set(self.queues) - set(QUEUES))
        if unknown:
            raise ValueError(f"unknown queues {unknown}; known queues: {list(QUEUES)}")
        spec = ENGINES.get(self.engine)
        if spec is None:
            raise ValueError(f"unknown engine '{self.engine}'; known engines: {sorted(ENGINES)}")
        if self.capabilities.structured_output and not spec.decodes_under_schemas:
            raise ValueError(f"engine '{self.engine}' cannot decode under a JSON Schema")
        if self.capabilities.modalities != {Modality.text} and not spec.sees_images:
            raise ValueError(f"engine '{self.engine}' takes text only; declare modalities: [text]")
        actual = spec.data_location(spec.params.model_validate(self.params))
        if not self.data_location.admits(actual):
            raise ValueError(
                f"data_location is '{self.data_location.value}' but engine '{self.engine}' sends "
                f"data to the {actual.value}; declare data_location: {actual.value}"
            )
        return self

    @property
    def in_process(self) -> bool:
        return ENGINES[self.engine].in_process

    @property
    def claim_depth(self) -> int:
        """How many tasks a worker of this path holds at once: its batch width plus those
        claimed ahead (a batch-width-1 worker process holds one)."""
        if self.batch_width == 1:
            return 1
        ahead = self.batch_width if self.claim_ahead is None else self.claim_ahead
        return self.batch_width + ahead


class PathsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: dict[PathName, PathConfig]

    @model_validator(mode="after")
    def _no_structured_output_for_diffusion(self) -> "PathsFile":
        diffusion = self.paths.get(PathName.diffusion)
        if diffusion is not None and diffusion.capabilities.structured_output:
            # vLLM answers 400 to response_format for DiffusionGemma (vLLM issues 45436,
            # 45468); block-aware constraints are still an open request (45572).
            raise ValueError(
                "paths.diffusion.capabilities.structured_output: DiffusionGemma servers refuse "
                "response_format (vLLM issues 45436, 45468); its outputs are validated instead"
            )
        return self


def _apply_env(data: dict[str, Any], environ: Mapping[str, str], path: Path) -> None:
    for route, entry in (data.get("paths") or {}).items():
        if not isinstance(entry, dict):
            continue
        for field, parse in PATH_ENV_FIELDS.items():
            name = f"GENROUTE_{str(route).upper()}_{field.upper()}"
            if name not in environ:
                continue
            try:
                value = parse(environ[name])
            except ValueError as exc:
                raise PolicyError(f"{path}: environment variable {name}: {exc}") from exc
            if field == "params":
                if not isinstance(value, dict):
                    raise PolicyError(
                        f"{path}: environment variable {name}: expected a JSON object"
                    )
                value = {**entry.get("params", {}), **value}
            entry[field] = value


def load_paths(path: Path, environ: Mapping[str, str] | None = None) -> dict[PathName, PathConfig]:
    """Load workers/paths.yaml with environment overrides; errors name the file and field."""
    data = read_yaml_mapping(path)
    _apply_env(data, os.environ if environ is None else environ, path)
    return validate_mapping(path, data, PathsFile).paths


def build_engine(config: PathConfig, cache_dir: Path, torch_threads: int) -> Engine:
    spec = ENGINES[config.engine]
    params = spec.params.model_validate(config.params)
    if spec.decodes_under_schemas:
        update = {"structured_output": config.capabilities.structured_output}
        params = params.model_copy(update=update)
    if spec.in_process:
        return spec.build(
            config.model, resolve_model(config.model, cache_dir), params, torch_threads
        )
    # A served model's batch width is the server's; never have more requests in flight.
    served = {
        "max_in_flight": params.max_in_flight or config.batch_width,
        "thinking": config.capabilities.thinking,
    }
    return spec.build(config.model, config.model, params.model_copy(update=served), torch_threads)
