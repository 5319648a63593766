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


class TaskNotFound(GenrouteError):
    """No task has the given id."""


class EngineError(GenrouteError):
    """An engine failed to produce output for a batch."""


class EngineUnavailable(EngineError):
    """The engine or its model cannot be loaded or reached."""


class EngineTimeout(EngineError):
    """The engine did not answer within its time limit."""
