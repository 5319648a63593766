"""The producer's side of genroute: a typed client for the HTTP API (`Client`, `AsyncClient`,
both driving one I/O-free core) and backlog files turned into requests. Needs only the base
install (httpx and pydantic); imports nothing of genroute but the contract and its errors.

    with Client("http://127.0.0.1:8000", api_key) as client:
        accepted = client.submit({"task_type": "ticket_summary", "input": "..."})
        print(client.wait(accepted.id).output)
"""

from genroute.client.clients import AsyncClient, Client
from genroute.client.core import ApiError, RetryPolicy

__all__ = ["ApiError", "AsyncClient", "Client", "RetryPolicy"]
