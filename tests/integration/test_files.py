"""The Batch API's files with the official SDK: bytes live in a PostgreSQL large object
(written and read a piece at a time) and go with the file, listing and metadata never load
them, a download arrives in pieces and whole, and the input of an unfinished batch cannot be
deleted from under it (a 409 the SDK does not retry)."""

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from genroute.db.files import get_file, list_files
from genroute.local.stack import Stack
from genroute.runtime.file_store import CHUNK_BYTES
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def sdk(stack: Stack) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=stack.api_key) as client:
        yield client


def _lines(count: int, width: int) -> bytes:
    line = '{"custom_id":"%08d","method":"POST","url":"/v1/chat/completions","body":{}}'
    padding = " " * max(0, width - len(line % 0))
    return "".join(line % n + padding + "\n" for n in range(count)).encode()


def test_listing_and_metadata_leave_the_bytes_in_the_database(
    sdk: openai.OpenAI, sessions: sessionmaker[Session]
) -> None:
    content = _lines(4, 100)
    uploaded = sdk.files.create(file=("small.jsonl", content), purpose="batch")
    assert uploaded.bytes == len(content)
    with sessions() as session:
        listed = {row.id: row for row in list_files(session, None, "batch", 10_000)}
        found = get_file(session, uploaded.id, None)
        assert found is not None and "content" not in found.__dict__  # not loaded
        assert "content" not in listed[uploaded.id].__dict__
    assert sdk.files.retrieve(uploaded.id).bytes == len(content)


def test_a_download_larger_than_a_piece_arrives_whole(
    sdk: openai.OpenAI, stack: Stack, sessions: sessionmaker[Session]
) -> None:
    content = _lines(2 * CHUNK_BYTES // 400 + 7, 400)  # two pieces and a part
    uploaded = sdk.files.create(file=("large.jsonl", content), purpose="batch")
    with sessions() as session:
        row = get_file(session, uploaded.id, None)
        assert row is not None and row.location and row.location.startswith("pg-lo:")
        oid = int(row.location.removeprefix("pg-lo:"))
    assert sdk.files.content(uploaded.id).read() == content
    with (
        stack.http() as client,
        client.stream("GET", f"/v1/files/{uploaded.id}/content") as answer,
    ):
        pieces = list(answer.iter_raw())
        assert answer.headers["content-length"] == str(len(content))
    assert b"".join(pieces) == content
    assert sdk.files.delete(uploaded.id).deleted
    with sessions() as session:  # the large object went with its file
        left = text("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = :oid")
        assert session.execute(left, {"oid": oid}).scalar_one() == 0


def test_an_unfinished_batch_keeps_its_input_file(sdk: openai.OpenAI, stack: Stack) -> None:
    content = _lines(3, 0).replace(b'"body":{}', b'"body":{"model":"chat","messages":[]}')
    uploaded = sdk.files.create(file=("input.jsonl", content), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    with stack.http() as client:
        refused = client.delete(f"/v1/files/{uploaded.id}")
    assert refused.status_code == 409, refused.text
    assert refused.headers["x-should-retry"] == "false"
    assert batch.id in refused.json()["error"]["message"]
    sdk.batches.cancel(batch.id)
    assert sdk.files.retrieve(uploaded.id).id == uploaded.id  # still there


def _storing(sessions: sessionmaker[Session]) -> bool:
    """Whether some connection is inside a transaction writing a large object."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%lo_put%' "
        "AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()"
    )
    with sessions() as session:
        return session.execute(query).scalar_one() > 0


def test_an_upload_being_stored_does_not_stall_the_api(
    stack: Stack, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """While a large upload is written to the store, the same API process answers: the
    write runs on a worker thread, not on the event loop that serves every request."""
    big = tmp_path / "big.jsonl"
    with big.open("wb") as out:
        for _ in range(150):
            out.write(_lines(1000, 1000))  # 150 MB
    answered: list[httpx.Response] = []

    def upload() -> None:
        with stack.http() as client, big.open("rb") as content:
            files = {"file": ("big.jsonl", content)}
            answer = client.post("/v1/files", files=files, data={"purpose": "batch"}, timeout=300)
            answered.append(answer)

    bracketed: list[bool] = []

    def answered_while_storing(client: httpx.Client) -> bool:
        """A health check answered with the write under way both before and after it (on a
        blocked event loop, none could be: it would answer once the write had ended)."""
        if _storing(sessions) and client.get("/healthz").status_code == 200:
            bracketed.append(_storing(sessions))
        return any(bracketed) or bool(answered)

    uploading = threading.Thread(target=upload)
    uploading.start()
    try:
        with stack.http() as client:
            wait_until(lambda: answered_while_storing(client), 120, "the upload being stored")
        assert any(bracketed), "the API answered only once the upload was stored"
    finally:
        uploading.join(300)
    assert [answer.status_code for answer in answered] == [200]
    with stack.http() as client:  # 150 MB the shared database need not keep
        assert client.delete(f"/v1/files/{answered[0].json()['id']}").status_code == 200
