"""The key a request's accepted output is cached under, without I/O: a SHA-256 over what
decides the output. Equal keys mean the same task type definition, the same input after
whitespace is normalised, the same attachments (by content), the same parameters that change
the output, the same model on the routed path and the same policy version; and, for a cache
scoped to owners, the same owner. Nothing else enters it (priority, metadata, idempotency
keys, latency budgets and streaming change how a request is served, not what it says)."""

import hashlib
import json
from typing import Any

from genroute.contract import StoredAttachment, TaskRequest

# Request fields that change the output (beyond the input, messages and attachments).
OUTPUT_PARAMETERS = (
    "max_output_tokens",
    "json_schema",
    "schema_required",
    "temperature",
    "requires_tool_calls",
    "requires_deep_reasoning",
)


def normalised(text: str) -> str:
    """`text` with runs of whitespace as one space and none at either end (case kept: it can
    change the meaning of an id or a name)."""
    return " ".join(text.split())


def cache_key(
    request: TaskRequest,
    attachments: list[StoredAttachment],
    task_type_definition: dict[str, Any],
    model: str,
    policy_version: str,
    owner: str | None,
) -> str:
    """The key of `request` as routed to a path serving `model` under `policy_version`;
    `owner` None for a cache shared by every owner."""
    messages = [
        {"role": turn.role, "content": normalised(turn.content)} for turn in request.messages or []
    ]
    parameters = request.model_dump(include=set(OUTPUT_PARAMETERS), mode="json")
    material = {
        "task_type": request.task_type,
        "definition": task_type_definition,
        "input": normalised(request.input),
        "messages": messages,
        "attachments": [(a.type, a.sha256) for a in attachments],
        "parameters": parameters,
        "model": model,
        "policy_version": policy_version,
        "owner": owner,
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()
