"""The cache key: equal for the same request however it is spaced, different for anything
that changes the output (model, policy version, task type definition, parameters, owner)."""

from genroute.contract import StoredAttachment, TaskRequest
from genroute.policies.cache_keys import cache_key

DEFINITION = {"system_prompt": "Label it.", "max_output_tokens": 32}


def _key(request: TaskRequest, **changes) -> str:
    arguments = {
        "attachments": [],
        "task_type_definition": DEFINITION,
        "model": "smollm2",
        "policy_version": "1+abc",
        "owner": "acme",
        **changes,
    }
    return cache_key(request, **arguments)


REQUEST = TaskRequest(task_type="classification", input="Charged twice for order B-2231.")


def test_spacing_and_serving_details_do_not_change_the_key() -> None:
    spaced = TaskRequest(
        task_type="classification",
        input="  Charged   twice for\norder B-2231. ",
        priority=1,
        metadata={"ticket": 7},
        idempotency_key="k-1",
        latency_budget_ms=500,
    )
    assert _key(spaced) == _key(REQUEST)


def test_anything_that_changes_the_output_changes_the_key() -> None:
    keys = {
        _key(REQUEST),
        _key(REQUEST, model="gemma-3-4b-it"),
        _key(REQUEST, policy_version="2+def"),
        _key(REQUEST, task_type_definition={**DEFINITION, "system_prompt": "Label it now."}),
        _key(REQUEST, owner="globex"),
        _key(REQUEST, owner=None),
        _key(REQUEST.model_copy(update={"input": "Charged twice for order B-2232."})),
        _key(REQUEST.model_copy(update={"max_output_tokens": 8})),
        _key(REQUEST.model_copy(update={"temperature": 0.7})),
        _key(REQUEST.model_copy(update={"input": REQUEST.input.lower()})),  # case can matter
    }
    assert len(keys) == 10


def test_attachments_count_by_content() -> None:
    def image(sha: str, file_id: str) -> StoredAttachment:
        return StoredAttachment(
            type="image", file_id=file_id, media_type="image/png", bytes=10, sha256=sha,
            width=2, height=2,
        )  # fmt: skip

    same = _key(REQUEST, attachments=[image("a" * 64, "file-1")])
    assert same == _key(REQUEST, attachments=[image("a" * 64, "file-2")])
    assert same != _key(REQUEST, attachments=[image("b" * 64, "file-1")])
    assert same != _key(REQUEST)
