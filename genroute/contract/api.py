"""The HTTP API's own bodies beyond the task contract: submissions, batches, listings, path
states and errors. Shared by the API (which serves them) and `genroute.client` (which reads
them), so both sides agree on one typed shape."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from genroute.contract.tasks import RouteDecision, TaskStatus


class Scope(StrEnum):
    """What a key may do; `admin` implies the others and reads every owner's tasks."""

    submit = "submit"
    read = "read"
    # Review sampled outputs of its owner's tasks in the console (and give them feedback).
    review = "review"
    admin = "admin"


DEFAULT_SCORECARD_BY = ("path", "task_type", "policy_version")


class TaskAccepted(BaseModel):
    """The answer to a submission: the task's id, status and where it was routed.
    `created` is false when an idempotency key matched an earlier submission."""

    id: uuid.UUID
    status: TaskStatus
    route: RouteDecision
    created: bool = True


class BatchSubmit(BaseModel):
    """Many task requests in one call; each item is validated and answered on its own."""

    items: list[dict[str, Any]] = Field(min_length=1)


class FieldError(BaseModel):
    field: str
    message: str


class BatchItemResult(BaseModel):
    """One item's fate: `accepted` (new task), `duplicate` (its idempotency key matched an
    earlier task, whose id is given) or `rejected` (with what was wrong)."""

    index: int
    outcome: Literal["accepted", "duplicate", "rejected"]
    task: TaskAccepted | None = None
    errors: list[FieldError] = []


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    items: list[BatchItemResult]


class TaskSummary(BaseModel):
    """A task in a listing: enough to triage, without its attempts."""

    id: uuid.UUID
    task_type: str
    status: TaskStatus
    path: str
    owner: str | None
    idempotency_key: str | None
    metadata: dict[str, Any]
    attempt_count: int
    output: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class TaskPage(BaseModel):
    """One page of a listing, newest first; pass `next_cursor` back for the next page."""

    items: list[TaskSummary]
    next_cursor: str | None


class PathStateView(BaseModel):
    """The rollback controller's state of one (path, task type)."""

    path: str
    task_type: str
    state: str
    samples: int
    failures: int
    cooldown_s: float
    data_location: str


class ShareView(BaseModel):
    """One rule's adaptive split of a task type: `share` of its requests on `path`, the rest
    on `other_path`, as last moved by the controller (`reason`; no event yet: the start)."""

    rule: str
    task_type: str
    path: str
    other_path: str
    share: float
    min: float
    max: float
    objective: str
    reason: str
    changed_at: datetime | None
    event_id: int | None


class PathEstimateView(BaseModel):
    """How soon one path could finish a request of a task type and priority, as a latency
    budget is judged at submit: the work queued ahead shared over its slots, then one attempt
    of the type's recent median; `completion_s` is None where nothing was measured (and
    unbounded, shown as None with slots 0, where no worker consumes the queue)."""

    path: str
    task_type: str
    priority: int
    queued_ahead: int
    slots: int
    service_s: float | None
    completion_s: float | None
    summary: str
    # Expected cost per accepted output of an answer within `max_output_tokens` (canvases or
    # tokens it pays for, over the measured acceptance), for `prefer: cheapest_accepted`.
    cost_per_accepted_output: float | None = None
    cost_summary: str = ""


class ErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] = []
    # A machine-readable reason where one helps the caller act (`budget_exceeded`).
    code: str | None = None


class ScorecardRow(BaseModel):
    """One group's figures. `path` is where the policy routed the requests; every figure
    covers all their attempts, fallbacks included, so a path pays for its failures. Rates are
    shares (0..1), times seconds, cost in the paths' configured currency. None: no data."""

    purpose: str
    path: str | None = None
    task_type: str | None = None
    policy_version: str | None = None
    input_modality: str | None = None
    requests: int
    in_flight: int
    accepted: int
    # Requests answered from the cache of accepted outputs: in no other figure here.
    cached: int = 0
    acceptance_rate: float | None
    validation_failure_rate: float | None
    fallback_rate: float | None
    timeout_rate: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_mean_s: float | None
    queue_wait_p50_s: float | None
    queue_wait_p95_s: float | None
    first_output_p50_s: float | None
    tokens_per_s: float | None
    attempts: int
    cost: float
    cost_per_request: float | None
    cost_per_accepted_output: float | None
    human_reviewed: int = 0
    human_acceptance_rate: float | None = None
    human_edit_rate: float | None = None
    human_rejection_rate: float | None = None
    mean_edit_distance: float | None = None
    mean_usefulness: float | None = None
    # Blind pairwise reviews of shadow pairs (production rows grouped by path and task type):
    # pairs this path was in, its share of wins (a tie half), and that share's 95% interval.
    preference_comparisons: int = 0
    preference_win_rate: float | None = None
    preference_interval: tuple[float, float] | None = None
    diversity: "DiversityFigures | None" = None


class DiversityFigures(BaseModel):
    """How much a group's accepted outputs repeat themselves: exact duplicates over all of
    them, near duplicates and mean pairwise similarity over a sample of `sampled`."""

    outputs: int
    exact_duplicate_rate: float
    sampled: int
    near_duplicate_rate: float | None
    mean_pairwise_similarity: float | None


class Scorecard(BaseModel):
    """Figures per group of finished requests created since `since`."""

    since: datetime | None
    generated_at: datetime
    by: list[str]
    rows: list[ScorecardRow]


class FeedbackIn(BaseModel):
    """A person's verdict on a task's output; `edited` needs the edited text."""

    model_config = {"extra": "forbid"}

    verdict: Literal["accepted", "edited", "rejected"]
    edited_text: str | None = Field(default=None, min_length=1, max_length=200_000)
    reason: str | None = Field(default=None, max_length=2000)
    # How useful the output is to whoever reads it: 1 (useless) to 5 (exactly what was needed).
    usefulness: int | None = Field(default=None, ge=1, le=5)

    @model_validator(mode="after")
    def _edit_matches_verdict(self) -> "FeedbackIn":
        if (self.verdict == "edited") != (self.edited_text is not None):
            raise ValueError("edited_text is required for verdict 'edited' and only for it")
        for field in ("edited_text", "reason"):
            if "\x00" in (getattr(self, field) or ""):
                raise ValueError(f"{field} contains a NUL character (U+0000)")
        return self


class FeedbackView(BaseModel):
    task_id: uuid.UUID
    verdict: str
    edited_text: str | None
    reason: str | None
    edit_distance: float | None
    usefulness: int | None = None
    updated_at: datetime
