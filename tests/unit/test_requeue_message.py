"""A requeued task's message keeps what its submission gave it: the request's priority (the
Redis transport serves lower numbers first) and its trace, whoever requeues it (the sweeper, an
operator's `genroute failed requeue`, the console's requeue button)."""

import uuid

from genroute.db.models import Task
from genroute.runtime.publishing import message_for
from genroute.runtime.queueing import DEFAULT_PRIORITY


def test_a_requeued_task_keeps_its_priority_and_trace() -> None:
    trace = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    task = Task(
        id=uuid.uuid4(), queue="autoregressive", task_type="chat",
        request={"input": "hi", "priority": 1}, trace=trace,
    )  # fmt: skip
    message = message_for(task)
    assert (message.task_id, message.queue, message.task_type) == (
        task.id,
        "autoregressive",
        "chat",
    )
    assert (message.priority, message.trace) == (1, trace)


def test_a_request_without_a_priority_gets_the_default() -> None:
    task = Task(id=uuid.uuid4(), queue="fallback", task_type="chat", request={"input": "hi"})
    assert message_for(task).priority == DEFAULT_PRIORITY
