"""One exception tree for genroute; the API maps it to HTTP responses in one place."""


class GenrouteError(Exception):
    """Base of every error genroute raises on purpose."""


class ConfigurationError(GenrouteError):
    """A settings value, YAML file or engine choice is wrong; raised at start-up."""


class PolicyError(ConfigurationError):
    """A routing policy or task-type catalog file is invalid (names file, rule and field)."""


class RequestRejected(GenrouteError):
    """A request is well formed but cannot be accepted; `field` names what is wrong. A
    rejection worth retrying says when in `retry_after_s` (the Retry-After header)."""

    status_code = 422
    retry_after_s: float | None = None
    # The `code` OpenAI's API gives the same error, for the OpenAI-compatible routes.
    openai_code: str | None = None

    def __init__(self, field: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


class UnknownTaskType(RequestRejected):
    """The request names a task type the catalog does not define."""


class UnknownModel(RequestRejected):
    """An OpenAI-compatible request's `model` names no task type (OpenAI answers 404)."""

    status_code = 404
    openai_code = "model_not_found"


class InputTooLarge(RequestRejected):
    """The request's input exceeds the configured size limit."""

    status_code = 413


class AttachmentRejected(RequestRejected):
    """An attachment is corrupt, of a kind genroute does not take, or missing; its error
    names the part."""

    status_code = 400


class PathUnavailable(RequestRejected):
    """Every path the request may use is rolled back right now; worth retrying later."""

    status_code = 503
    retry_after_s = 30.0


class BudgetUnmeetable(RequestRejected):
    """No path the request may use can finish within its latency budget (estimates say why)."""


class BudgetExceeded(RequestRejected):
    """A spend budget of the caller's key or owner has no room for another request: spent for
    this period (`final`: retry after the reset), or held by requests still in flight (retry
    shortly, as they finish and their actual cost replaces what they hold)."""

    status_code = 429
    openai_code = "budget_exceeded"

    def __init__(self, message: str, retry_after_s: float, *, final: bool) -> None:
        super().__init__("budget", message, retry_after_s)
        self.final = final


class Overloaded(RequestRejected):
    """This API process is at a capacity limit (long polls, database connections) or a store
    it needs is unreachable right now; worth retrying shortly."""

    status_code = 503
    retry_after_s = 1.0


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


class FileInUse(RequestRejected):
    """A file an unfinished batch still reads cannot be deleted."""

    status_code = 409


class NoOutputToReview(RequestRejected):
    """Feedback was sent for a task that has no accepted output (yet)."""

    status_code = 409


class RateLimited(RequestRejected):
    """The API key's submission rate is spent; `retry_after_s` says when it refills."""

    status_code = 429


class NotFound(GenrouteError):
    """Nothing the caller may see has the given id (404)."""


class TaskNotFound(NotFound):
    """No task has the given id."""


class FileNotFound(NotFound):
    """No Batch API file has the given id."""


class BatchNotFound(NotFound):
    """No batch has the given id."""


class EngineError(GenrouteError):
    """An engine failed to produce output for a batch."""


class EngineUnavailable(EngineError):
    """The engine or its model cannot be loaded or reached."""


class EngineTimeout(EngineError):
    """The engine did not answer within its time limit."""


class ClaimLost(GenrouteError):
    """Another worker took the attempt's task over (its lease lapsed); the attempt stops."""
