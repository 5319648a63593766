"""OpenAI's chat-completion and model-list shapes as genroute speaks them, with genroute's own
request fields in one extension object (`genroute`) and its record of the task in the answer's
`genroute` extension. Unknown fields are refused, as everywhere in the contract."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from genroute.contract.tasks import MAX_OUTPUT_TOKENS, PrivacyTier

# The `model` that names free conversation; any other names a task type (or `auto`).
CHAT_MODEL = "chat"
AUTO_MODEL = "auto"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageUrl(_Strict):
    # A data URL (`data:image/png;base64,...`) or the id of a file uploaded with purpose
    # `vision` or `user_data`; genroute never fetches a web URL.
    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImageUrlPart(_Strict):
    type: Literal["image_url"]
    image_url: ImageUrl


class VideoUrl(_Strict):
    url: str = Field(min_length=1)


class VideoUrlPart(_Strict):
    """A video, as vLLM's chat API extends OpenAI's: a data URL or an uploaded file's id."""

    type: Literal["video_url"]
    video_url: VideoUrl


class FileRef(_Strict):
    file_id: str = Field(min_length=1, max_length=64)
    filename: str | None = Field(default=None, max_length=256)


class FilePart(_Strict):
    """OpenAI's file content part: an uploaded image, by id."""

    type: Literal["file"]
    file: FileRef


ContentPart = Annotated[
    TextPart | ImageUrlPart | VideoUrlPart | FilePart, Field(discriminator="type")
]


class ChatMessageIn(_Strict):
    """One message as OpenAI's clients send it; `developer` is the newer name of `system`.
    A user message may show images and video beside its text (content parts)."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart]
    name: str | None = Field(default=None, max_length=64)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


class JsonSchemaFormat(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    # `schema` shadows a BaseModel attribute, hence the alias.
    json_schema: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class TextFormat(_Strict):
    type: Literal["text"]


class JsonObjectFormat(_Strict):
    type: Literal["json_object"]


class JsonSchemaResponseFormat(_Strict):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = Annotated[
    TextFormat | JsonObjectFormat | JsonSchemaResponseFormat, Field(discriminator="type")
]


class StreamOptions(_Strict):
    include_usage: bool = False


class GenrouteOptions(_Strict):
    """genroute's own request fields, which OpenAI's request has no place for (send them with
    the SDK's `extra_body={"genroute": {...}}`). `wait_s` bounds how long the call waits for
    the task to end (GENROUTE_CHAT_WAIT_S by default); past it the answer names the task.
    `stream_drafts` streams every attempt's draft as it is generated, with `draft_rejected`
    and `output_replaced` events; without it a stream shows only text validation accepted."""

    latency_budget_ms: int | None = Field(default=None, ge=1, le=86_400_000)
    privacy_tier: PrivacyTier = PrivacyTier.cluster
    priority: int = Field(default=5, ge=0, le=9)
    fallback: Literal["auto", "none"] = "auto"
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    user_facing: bool = False
    requires_tool_calls: bool = False
    requires_deep_reasoning: bool = False
    best_effort: bool = False
    wait_s: float | None = Field(default=None, gt=0, le=3600)
    stream_drafts: bool = False


class ChatCompletionRequest(_Strict):
    """`POST /v1/chat/completions`: OpenAI's fields that genroute honours, and nothing else."""

    model: str = Field(min_length=1, max_length=64)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=256)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(default=None, ge=0, le=2)
    n: Literal[1] = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    metadata: dict[str, Annotated[str, Field(max_length=512)]] | None = Field(
        default=None, max_length=16
    )
    user: str | None = Field(default=None, max_length=256)
    genroute: GenrouteOptions = Field(default_factory=GenrouteOptions)


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TaskRecord(BaseModel):
    """Where genroute ran the request: the task to read back, its route and its attempts."""

    task_id: UUID
    status: str
    task_type: str
    path: str
    rule: str
    attempts: int
    # The path each attempt ran on, in order: more than one means a fallback answered.
    attempt_paths: list[str]
    # What `model: auto` resolved to (the task classifier's record), else None.
    classification: dict[str, Any] | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    genroute: TaskRecord


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "genroute"
    # What it does (the catalog's description), beyond OpenAI's fields.
    description: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    # The task the failure belongs to, where there is one, to read back later.
    task_id: UUID | None = None


class OpenAIErrorBody(BaseModel):
    error: OpenAIError
