"""The task-type catalog: what each kind of work is, its prompt and its output limits."""

import re
import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genroute.config import validate_file
from genroute.contract import MAX_OUTPUT_TOKENS, PathName, TaskRequest
from genroute.errors import RequestRejected, UnknownTaskType


class JudgeConfig(BaseModel):
    """A validation block's `judge:` (the LLM judge, workers/validation/judge.py): the path
    whose model answers the rubric question, the question, and the answer's token bound."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: PathName = PathName.autoregressive
    question: str = Field(
        default=(
            "Is every statement in the summary supported by the ticket? Answer yes or no, "
            "then name the unsupported statement."
        ),
        min_length=10,
    )
    max_output_tokens: int = Field(default=48, ge=4, le=512)


class CacheConfig(BaseModel):
    """Answer repeats of a request from its earlier accepted output for `ttl_s` seconds:
    within one owner (`scope: owner`) or for every owner (`global`: only for inputs that are
    no one's secret). Keyed on the task type's definition, the normalised input and
    attachments, every parameter that changes the output, the path's model and the policy
    version, so a change of any of them misses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_s: int = Field(gt=0, le=90 * 86_400)
    scope: Literal["owner", "global"] = "owner"


class ValidationConfig(BaseModel):
    """What an output of this task type must satisfy before it is accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_chars: int = Field(default=1, ge=0)
    max_chars: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    min_bullets: int | None = Field(default=None, ge=0)
    max_bullets: int | None = Field(default=None, ge=0)
    single_line: bool = False
    allowed_values: tuple[str, ...] | None = None
    banned_phrases: tuple[str, ...] = ()
    banned_patterns: tuple[str, ...] = ()
    grounding: bool = False
    # The least share of a sentence's content words the input must also use (claims.py);
    # None: sentences are not checked for support.
    claim_support: float | None = Field(default=None, gt=0, le=1)
    # Ask a path's model whether the output is supported, after every other check passed.
    judge: JudgeConfig | None = None
    not_echo: bool = True
    # A reply the engine cut off at the output-token bound is incomplete: refused unless the
    # task type can use a partial one.
    accept_truncated: bool = False

    @field_validator("banned_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                message = f"pattern {pattern!r} is not a valid regular expression: {exc}"
                raise ValueError(message) from exc
        return patterns


class TaskType(BaseModel):
    """One entry of the catalog. `prompt_template` must use `{input}` and nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    system_prompt: str = Field(min_length=1)
    prompt_template: str = Field(min_length=1)
    default_max_output_tokens: int = Field(ge=1, le=MAX_OUTPUT_TOKENS)
    max_output_tokens: int = Field(ge=1, le=MAX_OUTPUT_TOKENS)
    output_format: Literal["text", "json"] = "text"
    json_schema: dict[str, Any] | None = None
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    # The scorecard reports how much this type's outputs repeat themselves (synthetic data).
    diversity: bool = False
    # Requests of this type as producers word them, for the task classifier (`task_type:
    # auto`), beside the description.
    examples: tuple[str, ...] = ()
    # A conversation: the request's `messages` go to the model as given (the system prompt
    # only when they bring none), instead of the prompt template around `input`.
    conversation: bool = False
    # Frames a video attachment is sampled to per second at submit (up to the setting
    # `max_video_frames`): a screen recording wants more than a slow walkthrough.
    video_frames_per_s: float = Field(default=1.0, gt=0, le=30)
    # Opt-in: accepted outputs answer identical requests (never similar ones) for a while.
    cache: CacheConfig | None = None

    @field_validator("prompt_template")
    @classmethod
    def _template_uses_input_only(cls, template: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        if names != {"input"}:
            raise ValueError(
                f"must contain exactly the placeholder {{input}}, found {sorted(names)}"
            )
        return template

    @model_validator(mode="after")
    def _default_within_bound(self) -> "TaskType":
        if self.default_max_output_tokens > self.max_output_tokens:
            raise ValueError("default_max_output_tokens exceeds max_output_tokens")
        return self

    def render_prompt(self, request_input: str) -> str:
        return self.prompt_template.format(input=request_input)


class TaskTypeCatalog(BaseModel):
    """Every task type a producer may submit, by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_types: dict[str, TaskType] = Field(min_length=1)

    def get(self, name: str) -> TaskType:
        try:
            return self.task_types[name]
        except KeyError:
            known = ", ".join(sorted(self.task_types))
            raise UnknownTaskType(
                "task_type", f"unknown task type '{name}'; known types: {known}"
            ) from None

    def diversity_task_types(self) -> list[str]:
        return sorted(name for name, kind in self.task_types.items() if kind.diversity)

    def output_limit(self, request: TaskRequest) -> int:
        """The effective output-token bound: the request's own, capped by the type's maximum."""
        task_type = self.get(request.task_type)
        if request.max_output_tokens is None:
            return task_type.default_max_output_tokens
        if request.max_output_tokens > task_type.max_output_tokens:
            raise RequestRejected(
                "max_output_tokens",
                f"{request.max_output_tokens} exceeds the limit of {task_type.max_output_tokens} "
                f"for task type '{request.task_type}'",
            )
        return request.max_output_tokens


def load_catalog(path: Path) -> TaskTypeCatalog:
    """Load and validate the catalog YAML; errors name the file, the task type and the field."""

    def name_item(_data: dict[str, Any], loc: tuple[Any, ...]) -> str:
        return f"task type '{loc[1]}': " if len(loc) > 1 and loc[0] == "task_types" else ""

    return validate_file(path, TaskTypeCatalog, name_item)
