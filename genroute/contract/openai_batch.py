"""OpenAI's file and batch shapes (`/v1/files`, `/v1/batches`) as genroute serves them, with
genroute's progress of a batch's submission in a `genroute` extension."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BatchStatus = Literal[
    "validating",
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
]
# What a file or batch id may look like (anything else cannot name one).
OBJECT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: Literal["batch", "batch_output", "vision", "user_data"]
    status: Literal["processed"] = "processed"
    status_details: str | None = None


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool = False


class BatchCreate(BaseModel):
    """`POST /v1/batches`. genroute also takes windows shorter than OpenAI's only "24h"
    (seconds, minutes or hours: "90s", "30m", "24h"), up to a week."""

    model_config = ConfigDict(extra="forbid")

    input_file_id: str = Field(pattern=OBJECT_ID_PATTERN)
    endpoint: Literal["/v1/chat/completions"]
    completion_window: str = Field(default="24h", pattern=r"^[1-9][0-9]{0,5}[smh]$")
    metadata: dict[str, str] | None = Field(default=None, max_length=16)

    @field_validator("metadata")
    @classmethod
    def _storable(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and any("\x00" in k or "\x00" in v for k, v in value.items()):
            raise ValueError("contains a NUL character (U+0000), which cannot be stored")
        return value


class BatchError(BaseModel):
    code: str
    message: str
    param: str | None = None
    line: int | None = None


class BatchErrors(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchError]


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class BatchProgress(BaseModel):
    """How far genroute has come turning the input's lines into tasks."""

    lines_done: int
    tasks: int


class BatchObject(BaseModel):
    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    errors: BatchErrors | None
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    in_progress_at: int | None
    expires_at: int
    finalizing_at: int | None
    completed_at: int | None
    failed_at: int | None
    expired_at: int | None
    cancelling_at: int | None
    cancelled_at: int | None
    request_counts: RequestCounts
    metadata: dict[str, Any] | None
    genroute: BatchProgress


class BatchList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchObject]
    first_id: str | None
    last_id: str | None
    has_more: bool
