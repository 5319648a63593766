"""Scorecard rollups: additive figures and histograms per hour and group of finished tasks."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from genroute.db.models.base import Base


class RollupKey:
    """The group a rollup row counts: tasks created in `hour` (UTC) of one purpose, owner
    ('' for none), routed path, task type, policy version and input modality."""

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    path: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_version: Mapped[str] = mapped_column(String(128), primary_key=True)
    input_modality: Mapped[str] = mapped_column(
        String(8), primary_key=True, server_default=text("'text'")
    )


class ScorecardRollup(RollupKey, Base):
    """Additive scorecard figures of the tasks created in one hour, per group; kept up to date
    as tasks finish (see genroute.db.rollups)."""

    __tablename__ = "scorecard_rollups"

    requests: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)
    fell_back: Mapped[int] = mapped_column(BigInteger)
    latency_sum: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(BigInteger)
    invalid: Mapped[int] = mapped_column(BigInteger)
    produced: Mapped[int] = mapped_column(BigInteger)
    timeouts: Mapped[int] = mapped_column(BigInteger)
    # Requests answered from the cache of accepted outputs: counted here, not in the figures
    # above (a hit is no evidence about a path).
    cached: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    cost: Mapped[float] = mapped_column(Float)
    tokens: Mapped[int] = mapped_column(BigInteger)
    token_seconds: Mapped[float] = mapped_column(Float)


class ScorecardHistogram(RollupKey, Base):
    """How many latencies, queue waits or times to first output (`metric`) of one hour's group
    fell in each log-spaced bucket; percentiles are read from these."""

    __tablename__ = "scorecard_histograms"

    metric: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
