"""What a request must be before it is routed, beyond its schema: its text within the size
limit, messages only for conversational task types, and a schema that is safe to run."""

from genroute.contract import TaskRequest
from genroute.errors import InputTooLarge, RequestRejected
from genroute.policies import TaskTypeCatalog
from genroute.runtime.schemas import check_schema


def check_request(request: TaskRequest, catalog: TaskTypeCatalog, max_input_chars: int) -> None:
    """Raise, naming the field, if the request cannot be taken as it is."""
    field, size = "input", len(request.input)
    if request.messages is not None:
        field, size = "messages", sum(len(m.content) for m in request.messages)
        if not catalog.get(request.task_type).conversation:
            raise RequestRejected(
                "messages",
                f"task type '{request.task_type}' takes `input` (its own prompt wraps it); "
                "only conversational task types such as 'chat' take messages",
            )
    if size > max_input_chars:
        raise InputTooLarge(field, f"{field} is {size} characters; the limit is {max_input_chars}")
    if request.json_schema is not None:
        check_schema(request.json_schema)
