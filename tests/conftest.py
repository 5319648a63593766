"""Fixtures for real services: PostgreSQL and Redis from GENROUTE_TEST_* URLs when given
(dev.py points them at 127.0.0.1), else embedded servers. Each run gets a fresh database."""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from genroute.db.migrate import upgrade
from genroute.db.session import make_engine, make_session_factory
from genroute.local.embedded import embedded_postgres, embedded_redis
from genroute.local.stack import Stack, running_stack
from genroute.runtime.queueing import redis_from_broker_url
from genroute.settings import Settings
from genroute.workers.engines.models import BUILT_IN, resolve_model
from tests.helpers import fresh_database
from tests.otlp_receiver import Receiver, otlp_receiver

ROOT = Path(__file__).resolve().parent.parent


def _given_broker() -> str | None:
    """The Redis of GENROUTE_TEST_BROKER_URL, for the first pytest-xdist worker only: tests
    name Redis databases of their own (`isolated_settings(redis_db=...)`), so two workers on
    one server would share them; every other worker runs an embedded Redis."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return os.environ.get("GENROUTE_TEST_BROKER_URL") if worker == "gw0" else None


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A fresh database (uniquely named, so workers share the server) and a flushed Redis."""
    data_dir = tmp_path_factory.mktemp("services")
    with contextlib.ExitStack() as stack:
        db_server = os.environ.get("GENROUTE_TEST_DATABASE_URL") or stack.enter_context(
            embedded_postgres(data_dir)
        )
        broker = _given_broker() or stack.enter_context(embedded_redis(data_dir))
        database = stack.enter_context(fresh_database(db_server))
        client = redis_from_broker_url(broker)
        client.flushdb()  # a test-only Redis database: leftovers of an earlier run would redeliver
        client.close()
        yield database, broker


# Task types the suite adds to the shipped catalog: `classification` with its outputs cached
# within an owner, and for every owner (the shipped catalog caches nothing).
CACHED_TYPES = {"cached_label": "owner", "shared_label": "global"}


def _catalog_with_cached_types(folder: Path) -> Path:
    catalog = yaml.safe_load((ROOT / "policies" / "task_types.yaml").read_text())
    for name, scope in CACHED_TYPES.items():
        entry = {
            **catalog["task_types"]["classification"],
            "description": f"The suite's copy of classification, its outputs cached ({scope}).",
            "examples": [],
        }
        catalog["task_types"][name] = {**entry, "cache": {"ttl_s": 3600, "scope": scope}}
    path = folder / "task_types.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def settings(service_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    database_url, broker_url = service_urls
    upgrade(database_url)
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(
        database_url=database_url,
        broker_url=broker_url,
        data_dir=data_dir,
        task_types_file=_catalog_with_cached_types(data_dir),
        paths_file=ROOT / "tests" / "paths.yaml",
        policy_file=ROOT / "tests" / "policy.yaml",
        claim_lease_s=4.0,
        ops_port=0,  # a free port for every API a test starts without naming one
        sweep_interval_s=1.0,
        unpublished_grace_s=1.0,
        # Batches submit in small steps, often, so a test can restart the API between two.
        batch_step_lines=20,
        batch_interval_s=0.5,
        estimate_refresh_s=1.0,
        review_sample_rate=1.0,  # every accepted output reaches the console's review queue
    )


@pytest.fixture(scope="session")
def sessions(settings: Settings):
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis_from_broker_url(settings.broker_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def otlp() -> Iterator[Receiver]:
    """An OTLP receiver (HTTP and gRPC) the shared stack exports its traces to."""
    with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def stack(settings: Settings, otlp: Receiver) -> Iterator[Stack]:
    """The API and one worker per path as real processes, shared by every test of the run
    (one stack only: two would consume the same queues), exporting traces over OTLP/HTTP."""
    for model in BUILT_IN:
        resolve_model(model, settings.model_cache_dir)
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.http_url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    paths, logs = ["autoregressive", "diffusion"], settings.data_dir / "logs"
    with running_stack(settings, paths, logs, extra_env=tracing) as s:
        yield s


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.http() as http:
        yield http


# Under pytest-xdist (`dev.py test` runs two workers, `--dist loadfile`: a module's tests stay on
# one worker, so its module-scoped stack, seed or server starts once) the modules that take
# longest go first, so no worker is left with one at the end while the other idles.
STARTED_FIRST = ("tests/integration/test_benchmarks.py", "tests/reliability/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(STARTED_FIRST))
