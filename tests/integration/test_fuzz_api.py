"""Schemathesis against the served OpenAPI document, with a valid admin key: whatever it
generates, the API never answers 5xx and every answer matches the documented schema (the
OpenAI-compatible routes included). Runs on a stack of its own with no workers, so the tasks
it creates only queue (and a chat completion's one-second wait ends in its 408)."""

import itertools
from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

from genroute.local.stack import Stack, running_stack
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration

CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


@pytest.fixture(scope="module")
def fuzz_stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("fuzz")
    with (
        isolated_settings(settings, redis_db=8, max_wait_s=1, chat_wait_s=1) as own,
        running_stack(own, [], folder / "logs") as stack,
    ):
        yield stack


@pytest.fixture(scope="module")
def api_schema(fuzz_stack: Stack):
    return schemathesis.openapi.from_url(f"{fuzz_stack.api_url}/openapi.json")


def _operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


def test_api_matches_its_openapi(api_schema, fuzz_stack: Stack) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9; drive hypothesis directly.
    checks = [CHECKS.get_by_names([name])[0] for name in CHECK_NAMES]
    headers = {"Authorization": f"Bearer {fuzz_stack.api_key}"}
    operations = _operations(api_schema)
    assert {op.label for op in operations} >= {
        "POST /v1/tasks",
        "POST /v1/tasks/batch",
        "GET /v1/tasks",
        "GET /v1/tasks/{task_id}",
        "POST /v1/tasks/{task_id}/cancel",
        "GET /v1/paths",
        "POST /v1/chat/completions",
        "GET /v1/models",
        "POST /v1/files",
        "GET /v1/files",
        "GET /v1/files/{file_id}",
        "GET /v1/files/{file_id}/content",
        "DELETE /v1/files/{file_id}",
        "POST /v1/batches",
        "GET /v1/batches",
        "GET /v1/batches/{batch_id}",
        "POST /v1/batches/{batch_id}/cancel",
    }
    calls = []
    for operation, mode in itertools.product(operations, GenerationMode):

        @hypothesis.settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            derandomize=True,
            database=None,
        )
        @hypothesis.given(case=operation.as_strategy(mode))
        def call(case) -> None:
            # The first `auto` request loads the task classifier's embedding model in the API
            # (seconds, more on a loaded 2-core machine): a schema check, not a latency one.
            response = case.call_and_validate(headers=headers, checks=checks, timeout=60)
            calls.append((case.operation.label, response.status_code))

        try:
            call()
        except hypothesis.errors.Unsatisfiable:
            # An operation with nothing to get wrong (no parameters or body) has no negatives.
            assert mode is GenerationMode.NEGATIVE, operation.label
    statuses = {status for _, status in calls}
    assert len(calls) > 100 and {200, 202, 404, 422} <= statuses, sorted(statuses)
