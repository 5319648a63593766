"""Typed settings, read from GENROUTE_* environment variables when built (never at import)."""

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def shipped_file(package: str, name: str) -> Path:
    """A data file shipped inside a genroute subpackage, found without importing it (so the
    base install, which lacks the server's dependencies, can still build Settings)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / name


class Settings(BaseSettings):
    """Everything configurable about one genroute process.

    `database_url` and `broker_url` left empty mean "start embedded services in `data_dir`".
    """

    model_config = SettingsConfigDict(env_prefix="GENROUTE_", extra="ignore")

    database_url: str = ""
    broker_url: str = ""
    data_dir: Path = Field(default=Path(".genroute"))
    policy_file: Path = Field(
        default_factory=lambda: shipped_file("genroute.policies", "default.yaml")
    )
    task_types_file: Path = Field(
        default_factory=lambda: shipped_file("genroute.policies", "task_types.yaml")
    )
    paths_file: Path = Field(default_factory=lambda: shipped_file("genroute.workers", "paths.yaml"))
    model_cache_dir: Path = Field(default=Path.home() / ".cache" / "genroute" / "models")

    max_input_chars: int = Field(default=32_000, gt=0)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_batch_items: int = Field(default=500, ge=1, le=10_000)
    # Per API key unless the key sets its own; a batch costs one per item. The bucket holds a
    # minute's worth, so a full batch fits when the rate is at least max_batch_items.
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    max_wait_s: float = Field(default=60.0, gt=0, le=600)
    # How long an OpenAI-compatible chat completion waits for its task to end, unless the
    # request's `genroute.wait_s` says otherwise (the openai SDK's own timeout is 600 s).
    chat_wait_s: float = Field(default=300.0, gt=0, le=3600)
    # The Batch API: an input file's limits (OpenAI's), how many lines one step turns into
    # tasks, how often the runner moves batches on, and the priority batch lines get unless a
    # line sets its own (7: served after interactive work's 5, since kombu serves lower numbers
    # first; a batch waits, a person does not).
    max_file_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_batch_lines: int = Field(default=50_000, ge=1)
    batch_step_lines: int = Field(default=500, ge=1, le=10_000)
    batch_interval_s: float = Field(default=2.0, gt=0)
    batch_priority: int = Field(default=7, ge=0, le=9)
    # A streamed task's output relay (a Redis stream per task): its bound in entries (a
    # token's or a canvas's text each, over every attempt) and how long it outlives its writes.
    stream_max_entries: int = Field(default=30_000, ge=100)
    stream_ttl_s: int = Field(default=600, ge=10)
    # Where Batch API files live: PostgreSQL ("") or an S3-compatible bucket (s3://bucket/prefix,
    # credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), at an endpoint of its own
    # ("": AWS's) in a region.
    files_s3_url: str = Field(
        default="", pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?)?$"
    )
    files_s3_endpoint_url: str = Field(default="", pattern=r"^(https?://.+)?$")
    files_s3_region: str = "us-east-1"
    # Latency budgets are judged by each path's median attempt time over this window, and by
    # worker counts and service times read at most this often (queue depths on every submit).
    estimate_window_s: float = Field(default=3600.0, gt=0)
    estimate_refresh_s: float = Field(default=5.0, ge=0)
    # Adaptive shares move at most once per interval, on first attempts over the window.
    share_interval_s: float = Field(default=30.0, gt=0)
    share_window_s: float = Field(default=3600.0, gt=0)
    # `task_type: auto`: the classifier's confidence below which a request goes to the default
    # task type instead of the one it resembles most.
    classify_min_confidence: float = Field(default=0.5, ge=0, le=1)
    classify_default_task_type: str = Field(default="chat", pattern=r"^[a-z][a-z0-9_]{0,63}$")
    # Long polls one API process holds at once; past it a wait answers 503 with Retry-After.
    # A waiting request holds no database connection, only a place in this count.
    max_long_polls: int = Field(default=1000, ge=1)
    # The API process's database pool: connections kept, extra ones allowed under load, and how
    # long a request waits for one before it answers 503 (never a 500 after 30 s).
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=20)

    task_soft_time_limit_s: int = Field(default=300, gt=0)
    task_hard_time_limit_s: int = Field(default=330, gt=0)
    claim_lease_s: float = Field(default=30.0, gt=0)
    sweep_interval_s: float = Field(default=5.0, gt=0)
    unpublished_grace_s: float = Field(default=10.0, ge=0)
    # Above the longest normal queue wait: each republish of a live message costs one no-op.
    republish_queued_after_s: float = Field(default=1800.0, gt=0)
    # A queued task whose message the broker no longer holds live (lost between a consumer's
    # BRPOP and its unacked write, or held by a worker that died before claiming) is sent
    # again after this; above the longest claim-retry countdown (about 1.25 x claim_lease_s).
    republish_orphaned_after_s: float = Field(default=60.0, gt=0)
    torch_threads: int = Field(default=1, ge=1)
    # How long a worker rides out a PostgreSQL outage: retrying to record a finished attempt,
    # and putting back messages it cannot claim (then the sweeper covers them).
    db_retry_budget_s: float = Field(default=300.0, ge=0)
    # On SIGTERM a worker stops taking tasks and gives running ones this long to finish; then
    # it hands them back to the broker (their claims' leases cover the rest).
    worker_shutdown_grace_s: float = Field(default=30.0, ge=0)

    log_format: Literal["json", "text"] = "json"
    flower_user: str = ""
    flower_password: str = ""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The operators' listener of each API process: /metrics, /readyz with errors, /docs. Keep
    # it on an internal address; 0 picks a free port (logged at start-up).
    ops_host: str = "127.0.0.1"
    ops_port: int = Field(default=9000, ge=0, le=65535)
    # Each worker serves Prometheus metrics here (0: a free port, announced in its readiness).
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)

    @property
    def visibility_timeout_s(self) -> int:
        """Broker redelivery delay: above the hard limit plus model load, else long tasks loop."""
        return self.task_hard_time_limit_s + 600

    def uses_embedded_services(self) -> bool:
        return not (self.database_url and self.broker_url)
