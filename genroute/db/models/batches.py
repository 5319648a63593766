"""Files and batches of the OpenAI-compatible Batch API: an uploaded JSONL file, a batch that
runs its lines as tasks, and each line's fate (its task, or why it could not become one)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base, now_column


class StoredFile(Base):
    """An uploaded input file or a batch's output or error file: its bytes in the row, or at
    `location` in an S3-compatible store (api/file_store.py)."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(256))
    # Before `bytes` (the size column), whose name would shadow the type here. Deferred:
    # listing files or reading one's metadata never loads bytes (up to GENROUTE_MAX_FILE_BYTES).
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    location: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = now_column()


class Batch(Base):
    """One batch: its input file, window, status with the time of each step, its counts and,
    once finished, its output and error files."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    input_file_id: Mapped[str] = mapped_column(String(40))
    endpoint: Mapped[str] = mapped_column(String(64))
    completion_window: Mapped[str] = mapped_column(String(16))
    batch_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'validating'"))
    # File-level problems (the batch `failed`): [{code, message, line, param}].
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    total_lines: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Lines turned into tasks (or refused) so far: submission resumes here after a restart.
    lines_done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    output_file_id: Mapped[str | None] = mapped_column(String(40))
    error_file_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    in_progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finalizing_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelling_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The Idempotency-Key header it was created with: a retry with the key finds this batch.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # Once ended: the lines its output and error files hold (a task still running when the
    # batch expired may succeed later; the counts stay what the files say).
    completed_count: Mapped[int | None] = mapped_column(Integer)
    failed_count: Mapped[int | None] = mapped_column(Integer)
    # The error every remaining line gets once a line was refused for a spent budget: the
    # batch stops submitting there.
    budget_refusal: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_batches_owner_created_at", "owner", "created_at"),
        Index(
            "uq_batches_owner_idempotency_key",
            "owner",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # The runner's question: which batches still have work to move on.
        Index(
            "ix_batches_unfinished",
            "created_at",
            postgresql_where=text(
                "status IN ('validating', 'in_progress', 'finalizing', 'cancelling')"
            ),
        ),
    )


class BatchLine(Base):
    """One line of a batch's input: the task it became, or the error that kept it from one."""

    __tablename__ = "batch_lines"

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    custom_id: Mapped[str | None] = mapped_column(String(512))
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    # An OpenAI error body ({"error": {...}}) and its status, for a line that is no task.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status_code: Mapped[int | None] = mapped_column(Integer)

    # A step finds the first line of each custom_id it reads without holding the file's ids.
    __table_args__ = (Index("ix_batch_lines_batch_custom_id", "batch_id", "custom_id"),)
