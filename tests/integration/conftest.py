"""The running stack (API + one worker per path as real processes) for integration tests."""

from collections.abc import Iterator

import httpx
import pytest

from genroute.settings import Settings
from genroute.stack import Stack, running_stack
from workers.engines.models import BUILT_IN, resolve_model


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    for model in BUILT_IN:
        resolve_model(model, settings.model_cache_dir)
    with running_stack(settings, ["autoregressive", "diffusion"], settings.data_dir / "logs") as s:
        yield s


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:
        yield http
