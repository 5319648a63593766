"""A fresh directory for one worker's multiprocess metrics. Kept apart from
`genroute.observability.metrics` because it must run before prometheus_client is first
imported in the worker."""

import tempfile
from pathlib import Path


def fresh_multiprocess_dir(base: Path, worker: str) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{worker}-", dir=base))
