"""One exception tree for genroute; the API maps it to HTTP responses in one place."""


class GenrouteError(Exception):
    """Base of every error genroute raises on purpose."""


class ConfigurationError(GenrouteError):
    """A settings value, YAML file or engine choice is wrong; raised at start-up."""


class PolicyError(ConfigurationError):
    """A routing policy or task-type catalog file is invalid (names file, rule and field)."""


class RequestRejected(GenrouteError):
    """A request is well formed but cannot be accepted; `field` names what is wrong."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownTaskType(RequestRejected):
    """The request names a task type the catalog does not define."""


class InputTooLarge(RequestRejected):
    """The request's input exceeds the configured size limit."""

    status_code = 413


class PathUnavailable(RequestRejected):
    """Every path the request may use is rolled back right now; worth retrying later."""

    status_code = 503


class Unauthenticated(RequestRejected):
    """No API key, or one that is unknown or revoked."""

    status_code = 401


class Forbidden(RequestRejected):
    """The API key lacks the scope this call needs."""

    status_code = 403


class IdempotencyConflict(RequestRejected):
    """An idempotency key was reused for a different request."""

    status_code = 409


class TaskNotCancellable(RequestRejected):
    """Only a queued task can be cancelled."""

    status_code = 409


class NoOutputToReview(RequestRejected):
    """Feedback was sent for a task that has no accepted output (yet)."""

    status_code = 409


class RateLimited(RequestRejected):
    """The API key's submission rate is spent; `retry_after_s` says when it refills."""

    status_code = 429

    def __init__(self, field: str, message: str, retry_after_s: float) -> None:
        super().__init__(field, message)
        self.retry_after_s = retry_after_s


class TaskNotFound(GenrouteError):
    """No task has the given id."""


class EngineError(GenrouteError):
    """An engine failed to produce output for a batch."""


class EngineUnavailable(EngineError):
    """The engine or its model cannot be loaded or reached."""


class EngineTimeout(EngineError):
    """The engine did not answer within its time limit."""
