"""Every kind of bad request gets an answer naming what is wrong, and creates nothing."""

import httpx
import pytest
from sqlalchemy import func, select

from genroute.db.models import Task
from tests.helpers import ticket

pytestmark = pytest.mark.integration


def _task_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Task))


def _fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        (ticket(colour="blue"), 422, "colour", "unknown field"),
        (ticket(max_output_tokens="lots"), 422, "max_output_tokens", "integer"),
        (ticket(max_output_tokens=999), 422, "max_output_tokens", "exceeds the limit of 256"),
        ({"input": "hello"}, 422, "task_type", "missing"),
        (ticket(input=""), 422, "input", "at least 1 character"),
        (ticket(task_type="poetry"), 422, "task_type", "unknown task type 'poetry'"),
        (ticket(task_type="Bad Type!"), 422, "task_type", "pattern"),
        (ticket(privacy_tier="public"), 422, "privacy_tier", "node"),
        (ticket(input="x" * 40_000), 413, "input", "the limit is 32000"),
        (ticket(input="a\x00b"), 422, "input", "NUL character"),
        (ticket(metadata={"team\x00": "x"}), 422, "metadata", "NUL character"),
        # A producer's schema is checked at submit, naming the path inside it.
        (
            ticket(task_type="extraction", json_schema={"type": "foo"}, schema_required=True),
            422,
            "json_schema.type",
            "at /type",
        ),
        (
            ticket(json_schema={"type": "object", "properties": 5}, schema_required=True),
            422,
            "json_schema.properties",
            "is not of type 'object'",
        ),
        (
            ticket(json_schema={"properties": {"id": {"pattern": "(a)\\1"}}}),
            422,
            "json_schema.properties.id.pattern",
            "is not a pattern RE2 can run",
        ),
    ],
)
def test_rejected_requests_name_the_problem(
    client: httpx.Client, sessions, body: dict, status: int, field: str, words: str
) -> None:
    before = _task_count(sessions)
    response = client.post("/v1/tasks", json=body)
    assert response.status_code == status, response.text
    assert field in _fields(response)
    assert words in response.json()["detail"]
    assert _task_count(sessions) == before


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/v1/tasks",
        content=b'{"task_type": "ticket_summary", "input": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]
