"""The explicit engine registry and the per-path engine configuration (workers/paths.yaml).

Nothing registers itself on import: an engine is available because it is listed here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genroute.contract import Path as RoutePath
from genroute.engine import Engine
from genroute.queueing import QUEUES
from policies.loading import validate_file
from workers.engines.models import resolve_model
from workers.engines.transformers_causal import CausalParams, TransformersCausalEngine


@dataclass(frozen=True)
class EngineSpec:
    """How to check an engine's params and build it: (model name, weights source, params,
    torch threads) -> Engine."""

    params: type[BaseModel]
    build: Callable[[str, str, Any, int], Engine]


ENGINES: dict[str, EngineSpec] = {
    TransformersCausalEngine.name: EngineSpec(CausalParams, TransformersCausalEngine),
}


class PathConfig(BaseModel):
    """One path's queues, engine, model and engine params (checked against the engine)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: tuple[str, ...] = Field(min_length=1)
    engine: str
    model: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_parts(self) -> "PathConfig":
        unknown = sorted(set(self.queues) - set(QUEUES))
        if unknown:
            raise ValueError(f"unknown queues {unknown}; known queues: {list(QUEUES)}")
        spec = ENGINES.get(self.engine)
        if spec is None:
            raise ValueError(f"unknown engine '{self.engine}'; known engines: {sorted(ENGINES)}")
        spec.params.model_validate(self.params)
        return self


class PathsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: dict[RoutePath, PathConfig]


def load_paths(path: Path) -> dict[RoutePath, PathConfig]:
    """Load workers/paths.yaml; errors name the file and the field."""
    return validate_file(path, PathsFile).paths


def build_engine(config: PathConfig, cache_dir: Path, torch_threads: int) -> Engine:
    spec = ENGINES[config.engine]
    params = spec.params.model_validate(config.params)
    return spec.build(config.model, resolve_model(config.model, cache_dir), params, torch_threads)
