"""The request/result contract shared by producers, the policy module, the API and workers."""

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from genroute.contract.attachments import Attachment, InputModality, StoredAttachment

MAX_OUTPUT_TOKENS = 8192
MAX_METADATA_BYTES = 4096
MAX_SCHEMA_BYTES = 16_384

MAX_ATTACHMENTS = 64

TaskTypeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class PrivacyTier(StrEnum):
    """Where data may travel (a request's tier) or goes (an engine's location):
    node < cluster < external."""

    node = "node"
    cluster = "cluster"
    external = "external"

    def admits(self, location: "PrivacyTier") -> bool:
        """Whether data under this tier may go to an engine at `location`."""
        order = list(PrivacyTier)
        return order.index(location) <= order.index(self)


class PathName(StrEnum):
    """The generation paths a request can be routed to. A *route* is a decision that names
    one (RouteDecision); `Path` would shadow pathlib's."""

    diffusion = "diffusion"
    autoregressive = "autoregressive"


class Purpose(StrEnum):
    """Why a task exists: production traffic (routes, answers producers, feeds rollback), an
    evaluation run's forced route, or a sampled shadow copy of a production request."""

    production = "production"
    evaluation = "evaluation"
    shadow = "shadow"


class TaskStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    # Its latency budget ran out before an attempt could start or a fallback be tried.
    expired = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in (
            TaskStatus.succeeded,
            TaskStatus.failed,
            TaskStatus.cancelled,
            TaskStatus.expired,
        )


class AttemptOutcome(StrEnum):
    running = "running"
    succeeded = "succeeded"
    error = "error"
    timeout = "timeout"
    invalid = "invalid"
    worker_lost = "worker_lost"
    # Answered from the cache of accepted outputs: no model call, no engine cost.
    cached = "cached"


def _has_nul(value: Any) -> bool:
    if isinstance(value, BaseModel):
        return _has_nul(value.model_dump())
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


class ChatTurn(BaseModel):
    """One message of a conversation, as a chat model's template takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


# Request fields added after the first release, with their defaults (see TaskRequest.record).
_ADDED_SINCE_V1: dict[str, Any] = {
    "messages": None,
    "stream": False,
    "temperature": None,
    "best_effort": False,
    "attachments": [],
}


class TaskRequest(BaseModel):
    """What a producer asks for. Unknown fields are rejected so typos never pass silently.

    A conversational task type (`chat`) takes `messages`, passed to the model as given; its
    `input` is then the last user message unless given (validators and listings read it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    task_type: TaskTypeName
    # Images and video beside the text (decoded, bounded and stored at submit; the count bound
    # is a setting, `max_attachments`). Before `input`, which may be empty beside them.
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    # The size bound on `input` is a setting (`max_input_chars`), enforced at submit.
    input: str
    messages: list[ChatTurn] | None = Field(default=None, min_length=1, max_length=256)
    # Derived from the attachments; a producer that states it must state it rightly.
    input_modality: InputModality = InputModality.text
    max_output_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    latency_budget_ms: int | None = Field(default=None, ge=1, le=86_400_000)
    json_schema: dict[str, Any] | None = None
    schema_required: bool = False
    user_facing: bool = False
    privacy_tier: PrivacyTier = PrivacyTier.cluster
    requires_tool_calls: bool = False
    requires_deep_reasoning: bool = False
    fallback: Literal["auto", "none"] = "auto"
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int = Field(default=5, ge=0, le=9)
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    # Relay the output while the engine makes it (the OpenAI-compatible API's `stream`).
    stream: bool = False
    # Sampling temperature for engines that sample (a served model); in-process engines decode
    # greedily whatever it says.
    temperature: float | None = Field(default=None, ge=0, le=2)
    # Run it even when no path is estimated to meet `latency_budget_ms` (else 422).
    best_effort: bool = False

    def record(self, stored: list[StoredAttachment] | None = None) -> dict[str, Any]:
        """The request as a task row keeps it, its attachments as `stored` at submit (where
        the bytes are and what they are, never the inline data). Fields added since v1 are
        kept only where they differ from their default, so the record of a request that does
        not use them is the same as before they existed (an idempotent replay compares
        records)."""
        unused = {
            name for name, default in _ADDED_SINCE_V1.items() if getattr(self, name) == default
        }
        record = self.model_dump(mode="json", exclude=unused)
        if self.attachments:
            record["attachments"] = [item.model_dump(mode="json") for item in stored or []]
        return record

    @field_validator("input")
    @classmethod
    def _text_unless_attachments(cls, text: str, info: ValidationInfo) -> str:
        if not text and not info.data.get("attachments"):
            raise ValueError("String should have at least 1 character (or send an attachment)")
        return text

    @field_validator("input_modality")
    @classmethod
    def _modality_as_stated(cls, stated: InputModality, info: ValidationInfo) -> InputModality:
        attachments = info.data.get("attachments") or []
        derived = InputModality.of([item.type for item in attachments])
        if stated != derived:
            raise ValueError(
                f"is '{stated.value}' but the request carries {derived.value} input (it is "
                "derived from attachments; it may be left out)"
            )
        return stated

    @model_validator(mode="after")
    def _modality_from_attachments(self) -> "TaskRequest":
        self.input_modality = InputModality.of([item.type for item in self.attachments])
        return self

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "TaskRequest":
        """The request a task's record keeps, its stored attachments named by their files (a
        replay or a copy decides on what was submitted, never on the bytes again)."""
        stored = record.get("attachments") or []
        if not stored:
            return cls.model_validate(record)
        named = [
            {"type": a["type"], "file_id": a["file_id"], "name": a.get("name")} for a in stored
        ]
        return cls.model_validate({**record, "attachments": named})

    @model_validator(mode="before")
    @classmethod
    def _input_from_messages(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "input" not in data
            and isinstance(data.get("messages"), list)
        ):
            users = [m for m in data["messages"] if isinstance(m, dict) and m.get("role") == "user"]
            if users and isinstance(users[-1].get("content"), str):
                return {**data, "input": users[-1]["content"]}
        return data

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, messages: list[ChatTurn] | None) -> list[ChatTurn] | None:
        if messages is not None and messages[-1].role != "user":
            raise ValueError("the last message must be the user's (the model answers it)")
        return messages

    @field_validator("input", "idempotency_key", "metadata", "json_schema", "messages")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text or JSONB; refuse it here, naming the field.
        if _has_nul(value):
            raise ValueError("contains a NUL character (U+0000), which cannot be stored")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_is_small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if _json_size(value) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata exceeds {MAX_METADATA_BYTES} bytes as JSON")
        return value

    @field_validator("json_schema")
    @classmethod
    def _schema_is_small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and _json_size(value) > MAX_SCHEMA_BYTES:
            raise ValueError(f"json_schema exceeds {MAX_SCHEMA_BYTES} bytes as JSON")
        return value


class RouteDecision(BaseModel):
    """Where the policy sent a request, and why."""

    model_config = ConfigDict(
        frozen=True, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    path: PathName
    rule: str
    policy_version: str
    fallback_path: PathName | None
    reason: str
    max_output_tokens: int
    # The rollback controller's state of (path chosen by the rules, task type) at decision time;
    # `health` on the wire, as producers have read it since v1.
    path_state: str = Field(default="active", alias="health")
