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

    model_config = SettingsConfigDict(
        env_prefix="GENROUTE_", extra="ignore", use_attribute_docstrings=True
    )

    database_url: str = ""
    """PostgreSQL URL (`postgresql://user@host/db`); empty: an embedded server in `data_dir`."""
    broker_url: str = ""
    """Redis URL (`redis://host:6379/0`); empty: an embedded server in `data_dir`."""
    data_dir: Path = Field(default=Path(".genroute"))
    """Embedded servers' data, sockets and demo logs."""
    policy_file: Path = Field(
        default_factory=lambda: shipped_file("genroute.policies", "default.yaml")
    )
    """Routing rules."""
    task_types_file: Path = Field(
        default_factory=lambda: shipped_file("genroute.policies", "task_types.yaml")
    )
    """Task-type catalog."""
    paths_file: Path = Field(default_factory=lambda: shipped_file("genroute.workers", "paths.yaml"))
    """Queues, engine, model and engine params per path."""
    model_cache_dir: Path = Field(default=Path.home() / ".cache" / "genroute" / "models")
    """Converted model weights."""

    max_input_chars: int = Field(default=32_000, gt=0)
    """Largest accepted `input` (413 above)."""
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    """Largest request body (413 above), checked before it is read."""
    max_batch_items: int = Field(default=500, ge=1, le=10_000)
    """Items per `POST /v1/tasks/batch`."""
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    """Submissions per API key per minute, unless the key sets its own."""
    max_wait_s: float = Field(default=60.0, gt=0, le=600)
    """Longest a `?wait=` long-poll is held."""
    chat_wait_s: float = Field(default=300.0, gt=0, le=3600)
    """How long `POST /v1/chat/completions` waits for its task to end (a request's `genroute.wait_s`
    overrides it); past it the answer is a 408 naming the task."""
    max_file_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    """Largest Batch API input file (`POST /v1/files`), OpenAI's 200 MB."""
    max_attachments: int = Field(default=8, ge=0, le=64)
    """Most images and videos one request carries."""
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    """Largest image or video file a request may carry (413 above), inline or uploaded."""
    max_image_pixels: int = Field(default=40_000_000, gt=0)
    """Most pixels in one image or video frame; refused before decoding (decompression bombs)."""
    max_video_seconds: float = Field(default=600.0, gt=0)
    """Longest video a request may carry."""
    max_video_frames: int = Field(default=32, ge=1, le=256)
    """Most frames sampled from one video (its task type sets the rate, `video_frames_per_s`;
    a longer video gets fewer a second, spread over all of it)."""
    max_images_per_request: int = Field(default=32, ge=1, le=1024)
    """Most images one request shows its model, video frames included: at most a vLLM server's
    `--limit-mm-per-prompt` image count where one serves the path."""
    ocr_languages: str = Field(default="eng+deu", pattern=r"^[a-z_]{3,16}(\+[a-z_]{3,16})*$")
    """Tesseract's languages for reading text inside attachments (grounding), installed data
    packs joined by `+` (Debian: tesseract-ocr-eng, tesseract-ocr-deu)."""
    retention_days: float | None = Field(default=None, ge=1)
    """How long finished tasks are kept, with their attempts, verdicts, feedback, and the
    images and videos no remaining task shows (bytes included) and the text read in them;
    unset keeps everything. Rolled-up scorecard figures stay. An expired task's idempotency
    key is free again."""
    retention_interval_s: float = Field(default=300.0, gt=0)
    """How often each API process deletes a batch of what retention has let go."""
    max_batch_lines: int = Field(default=50_000, ge=1)
    """Most lines in one batch input file (OpenAI's limit); a longer file fails the batch at
    validation."""
    batch_step_lines: int = Field(default=500, ge=1, le=10_000)
    """Lines the batch runner turns into tasks in one step (one submission, one transaction)."""
    batch_interval_s: float = Field(default=2.0, gt=0)
    """How often each API process's batch runner moves unfinished batches on."""
    batch_priority: int = Field(default=7, ge=0, le=9)
    """Queue priority of a batch line's task unless the line's `genroute.priority` sets one (0 is
    most urgent: 7 is served after interactive work's 5, before shadow copies' 9)."""
    stream_max_entries: int = Field(default=30_000, ge=100)
    """Bound of a streamed task's output relay (a Redis stream: one entry per token, or per canvas
    on the diffusion path; a reader that finds a gap sends the rest at the end)."""
    stream_ttl_s: int = Field(default=600, ge=10)
    """How long a streamed task's relay outlives its last write (the record itself is in
    PostgreSQL)."""
    files_s3_url: str = Field(
        default="", pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?)?$"
    )
    """Where Batch API files live: empty keeps them in PostgreSQL; `s3://bucket/prefix` puts their
    bytes in an S3-compatible bucket (credentials from `AWS_ACCESS_KEY_ID` /
    `AWS_SECRET_ACCESS_KEY`; install `genroute[s3]`)."""
    files_s3_endpoint_url: str = Field(default="", pattern=r"^(https?://.+)?$")
    """The S3-compatible store's endpoint (MinIO, Ceph, R2, ...); empty for AWS's own."""
    files_s3_region: str = "us-east-1"
    """The bucket's region."""
    estimate_window_s: float = Field(default=3600.0, gt=0)
    """Latency budgets are judged by each path's median attempt time per task type over this
    window."""
    estimate_refresh_s: float = Field(default=5.0, ge=0)
    """How often an API process re-reads service times and worker counts for those estimates (queue
    depths are read on every submit with a budget)."""
    review_sample_rate: float = Field(default=0.05, ge=0, le=1)
    """Share of accepted production outputs, per path and task type alike, that the console's
    review queue offers reviewers (drawn by task id, so every process agrees)."""
    unmeasured_hold_usd: float = Field(default=0.25, ge=0)
    """What a request holds of its caller's spend budgets while its path and task type have no
    finished request in the estimate window (afterwards: the costliest one there). A cold stack
    then admits few requests at once against a small budget, never many unpriced ones."""
    budget_retry_s: float = Field(default=5.0, gt=0)
    """Retry-After of a refusal whose budget is held by requests in flight (not yet spent)."""
    share_interval_s: float = Field(default=30.0, gt=0)
    """How often adaptive shares move (one API process at a time)."""
    share_window_s: float = Field(default=3600.0, gt=0)
    """Adaptive shares read first attempts on live traffic within this window."""
    classify_min_confidence: float = Field(default=0.5, ge=0, le=1)
    """`task_type: auto`: the task classifier's confidence below which the request goes to the
    default type."""
    classify_default_task_type: str = Field(default="chat", pattern=r"^[a-z][a-z0-9_]{0,63}$")
    """Where an `auto` request the classifier is unsure of goes."""
    max_long_polls: int = Field(default=1000, ge=1)
    """Long polls one API process holds at once (a wait holds no database connection); past it
    `?wait=` answers 503 with `Retry-After`."""
    db_pool_size: int = Field(default=10, ge=1)
    """The API process's database connections kept, and extra ones under load."""
    db_max_overflow: int = Field(default=10, ge=0)
    """The API process's database connections kept, and extra ones under load."""
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    """How long a request waits for a database connection before it answers 503 with `Retry-
    After`."""
    max_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts per task before it fails."""

    task_soft_time_limit_s: int = Field(default=300, gt=0)
    """An attempt past this is recorded as `timeout`."""
    task_hard_time_limit_s: int = Field(default=330, gt=0)
    """Celery kills a prefork worker process past this; a claim's lease stops being renewed past
    it."""
    claim_lease_s: float = Field(default=30.0, gt=0)
    """A claim's lease, renewed every third of it while generating."""
    sweep_interval_s: float = Field(default=5.0, gt=0)
    """How often the API's sweeper looks for tasks to republish."""
    unpublished_grace_s: float = Field(default=10.0, ge=0)
    """Age at which a never-published task is republished."""
    republish_queued_after_s: float = Field(default=1800.0, gt=0)
    """Age of the last publish at which a still-queued task is published again (covers messages a
    broker crash lost)."""
    republish_orphaned_after_s: float = Field(default=60.0, gt=0)
    """Age of the last publish at which a still-queued task with no live message in the broker is
    published again (keep it above 1.25 x `GENROUTE_CLAIM_LEASE_S`, the longest claim-retry
    countdown)."""
    torch_threads: int = Field(default=1, ge=1)
    """Torch threads per worker process (1 is steadiest on small CPUs)."""
    db_retry_budget_s: float = Field(default=300.0, ge=0)
    """How long a worker rides out a PostgreSQL outage: retrying (with jittered backoff) to record a
    finished attempt, and putting back a message it cannot claim every ~5 s; after that the message
    is given up and the sweeper republishes its task."""
    worker_shutdown_grace_s: float = Field(default=30.0, ge=0)
    """After SIGTERM, how long running tasks may finish before they are handed back."""

    log_format: Literal["json", "text"] = "json"
    """`json` lines or `text`."""
    flower_user: str = ""
    """Flower's basic auth (`genroute flower` refuses to start without them)."""
    flower_password: str = ""
    """Flower's basic auth (`genroute flower` refuses to start without them)."""

    api_host: str = "127.0.0.1"
    """API bind address."""
    api_port: int = 8000
    """API bind address."""
    ops_host: str = "127.0.0.1"
    """Each API process's operators' listener: `/metrics`, `/readyz` with every check's error,
    `/docs`; keep it internal (0: a free port)."""
    ops_port: int = Field(default=9000, ge=0, le=65535)
    """Each API process's operators' listener: `/metrics`, `/readyz` with every check's error,
    `/docs`; keep it internal (0: a free port)."""
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    """Each worker's Prometheus exporter (0: a free port)."""

    @property
    def visibility_timeout_s(self) -> int:
        """Broker redelivery delay: above the hard limit plus model load, else long tasks loop."""
        return self.task_hard_time_limit_s + 600

    def uses_embedded_services(self) -> bool:
        return not (self.database_url and self.broker_url)
