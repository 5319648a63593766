"""Tasks and their attempts, with each attempt's validator verdicts: the system of record."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from genroute.db.models.base import Base, now_column


class Task(Base):
    """One accepted request, its route decision and its current state.

    `current_attempt_id` is the claim: only the attempt it names may finish the task, which is
    what keeps a late or duplicate worker from producing a second accepted output.
    """

    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_type: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # What the request held beside its text (text, image, video, mixed): the scorecard splits
    # by it.
    input_modality: Mapped[str] = mapped_column(String(8), server_default=text("'text'"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))

    route_path: Mapped[str] = mapped_column(String(32))
    route_rule: Mapped[str] = mapped_column(String(128))
    policy_version: Mapped[str] = mapped_column(String(128))
    fallback_path: Mapped[str | None] = mapped_column(String(32))
    route_reason: Mapped[str] = mapped_column(Text)
    # The rollback controller's state of the routed path when the decision was made.
    route_path_state: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    max_output_tokens: Mapped[int] = mapped_column(Integer)

    queue: Mapped[str] = mapped_column(String(32))
    attempt_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer)
    current_attempt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result_attempt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    output_text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Who submitted it (and with which key): reads are scoped to the owner unless the key is
    # admin. An idempotency key is unique per owner, so a replay (or a racing duplicate, or a
    # retry after the owner's key was rotated) finds the original.
    owner: Mapped[str | None] = mapped_column(String(128))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200))

    # Production traffic feeds the rollback controller and answers producers. Evaluation runs
    # (`genroute eval`, tagged with their run) and shadow copies of production requests (with
    # `shadow_of` naming the original) are recorded and scored but route nothing.
    purpose: Mapped[str] = mapped_column(String(16), server_default=text("'production'"))
    shadow_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    eval_run: Mapped[str | None] = mapped_column(String(64), index=True)
    # Acceptance plus the request's latency budget (production tasks only).
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What `task_type: auto` resolved to, with the classifier's confidence in each type.
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Where a cached task type keeps its accepted output: {key, ttl_s}.
    cache: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The request's trace context (W3C headers) while tracing is on: whoever publishes the
    # task (API, sweeper, a worker's fallback) carries it in the message.
    trace: Mapped[dict[str, str] | None] = mapped_column(JSONB)

    attempts: Mapped[list["Attempt"]] = relationship(
        back_populates="task", order_by="Attempt.attempt_no", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_tasks_status_created_at", "status", "created_at"),
        Index("ix_tasks_created_at_id", "created_at", "id"),
        Index("ix_tasks_owner_created_at_id", "owner", "created_at", "id"),
        Index(
            "uq_tasks_owner_idempotency_key",
            "owner",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # The sweeper's two questions: never published, and claimed with an expired lease.
        Index("ix_tasks_unpublished", "created_at", postgresql_where=text("published_at IS NULL")),
        Index(
            "ix_tasks_running_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
        ),
        # ... and queued long since its last publish: the message may be lost.
        Index(
            "ix_tasks_queued_published_at",
            "published_at",
            postgresql_where=text("status = 'queued'"),
        ),
        # The scorecard's diversity figures read one task type's accepted outputs.
        Index(
            "ix_tasks_succeeded_task_type_created_at",
            "task_type",
            "created_at",
            postgresql_where=text("status = 'succeeded'"),
        ),
    )


# Listing by metadata tag is a containment query on this (`request -> 'metadata' @> {...}`).
Index(
    "ix_tasks_metadata",
    Task.request["metadata"].label("metadata"),
    postgresql_using="gin",
    postgresql_ops={"metadata": "jsonb_path_ops"},
)
# Retention asks which tasks still show a file (`request -> 'attachments' @> [...]`).
Index(
    "ix_tasks_request_attachments",
    Task.request["attachments"].label("attachments"),
    postgresql_using="gin",
    postgresql_ops={"attachments": "jsonb_path_ops"},
    postgresql_where=text("request ? 'attachments'"),
)


class Attempt(Base):
    """One try at a task on one path and engine, with its timings, tokens and outcome."""

    __tablename__ = "attempts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    attempt_no: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(32))
    engine: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(256))
    worker_host: Mapped[str | None] = mapped_column(String(255))
    worker_name: Mapped[str | None] = mapped_column(String(255))
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    gpu_id: Mapped[str | None] = mapped_column(String(32))

    outcome: Mapped[str] = mapped_column(String(16), server_default=text("'running'"))
    error: Mapped[str | None] = mapped_column(Text)
    output_text: Mapped[str | None] = mapped_column(Text)
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    engine_facts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # Engine time this attempt used (its share of a batch) and that time at the path's rate;
    # failed and timed-out attempts cost what they used. Columns, not facts: the scorecard sums
    # them over millions of attempts.
    gpu_seconds: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)

    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_output_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The engine's own run of the attempt's batch: its service time. From the claim
    # (started_at) to here the attempt waited for a batch (claim-ahead), which is not service.
    engine_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    engine_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    task: Mapped[Task] = relationship(back_populates="attempts")
    validations: Mapped[list["AttemptValidation"]] = relationship(
        back_populates="attempt", order_by="AttemptValidation.id", lazy="selectin"
    )

    __table_args__ = (
        Index("uq_attempts_task_id_attempt_no", "task_id", "attempt_no", unique=True),
        Index("ix_attempts_path_finished_at", "path", "finished_at"),
    )


class AttemptValidation(Base):
    """One validator's verdict on one attempt's output, with what it found."""

    __tablename__ = "attempt_validations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    validator: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = now_column()

    attempt: Mapped[Attempt] = relationship(back_populates="validations")

    __table_args__ = (Index("ix_attempt_validations_validator_passed", "validator", "passed"),)
