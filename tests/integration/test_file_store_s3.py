"""Batch API files in an S3-compatible store: a stack whose GENROUTE_FILES_S3_URL names a
bucket on an S3 server over HTTP (moto's; no cloud is reachable from here) keeps the bytes of
uploads and of a batch's output file in the bucket and only their location in PostgreSQL, and
an unreachable store answers 503 instead of failing."""

import json
import os
from collections.abc import Iterator

import boto3
import openai
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import text

from genroute.db.session import make_engine
from genroute.local.stack import Stack, free_port, running_stack
from genroute.settings import Settings
from tests.helpers import isolated_settings, wait_until

pytestmark = pytest.mark.integration

BUCKET = "genroute-files"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    earlier = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)  # the stack's processes inherit them
    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield url
    server.stop()
    for name, value in earlier.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def s3_stack(
    settings: Settings, s3_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("s3-stack")
    store = {"files_s3_url": f"s3://{BUCKET}/batches", "files_s3_endpoint_url": s3_url}
    one_line_a_step = {"batch_step_lines": 1}  # later steps read the input from mid-object
    with (
        isolated_settings(settings, redis_db=5, **store, **one_line_a_step) as own,
        running_stack(own, ["autoregressive"], folder / "logs") as stack,
    ):
        yield stack


def _objects(s3_url: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listed
    }


@pytest.mark.timeout(300)
def test_uploads_and_results_live_in_the_bucket(s3_stack: Stack, s3_url: str) -> None:
    lines = [
        {
            "custom_id": f"c-{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "chat",
                "max_tokens": 4,
                "messages": [{"role": "user", "content": "Hi"}],
            },
        }
        for n in range(3)
    ]
    content = "\n".join(json.dumps(line) for line in lines).encode() + b"\n"
    base_url = f"{s3_stack.api_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=s3_stack.api_key, max_retries=0) as sdk:
        upload = sdk.files.create(file=("three.jsonl", content), purpose="batch")
        assert _objects(s3_url)[f"batches/{upload.id}"] == content
        assert sdk.files.content(upload.id).content == content
        batch = sdk.batches.create(
            input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        done = wait_until(
            lambda: (b := sdk.batches.retrieve(batch.id)).status == "completed" and b,
            240,
            "the batch completing",
        )
        output = sdk.files.content(done.output_file_id).content
        assert {json.loads(line)["custom_id"] for line in output.splitlines()} == {
            "c-0",
            "c-1",
            "c-2",
        }
        assert _objects(s3_url)[f"batches/{done.output_file_id}"] == output
        engine = make_engine(s3_stack.settings.database_url)  # the stack's own database
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, content IS NULL, location FROM files WHERE id IN (:a, :b)"),
                {"a": upload.id, "b": done.output_file_id},
            ).all()
        engine.dispose()
        assert {(row[1], row[2]) for row in rows} == {
            (True, f"s3://{BUCKET}/batches/{upload.id}"),
            (True, f"s3://{BUCKET}/batches/{done.output_file_id}"),
        }
        assert sdk.files.delete(upload.id).deleted
        assert f"batches/{upload.id}" not in _objects(s3_url)


def test_an_unreachable_store_answers_503(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("s3-gone")
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    gone = {"files_s3_url": f"s3://{BUCKET}", "files_s3_endpoint_url": endpoint}
    with (
        isolated_settings(settings, redis_db=3, **gone) as own,
        running_stack(own, [], folder / "logs") as stack,
        stack.http() as client,
    ):
        answer = client.post(
            "/v1/files", files={"file": ("a.jsonl", b"{}\n")}, data={"purpose": "batch"}
        )
    assert answer.status_code == 503 and "Retry-After" in answer.headers
    assert answer.json()["error"]["param"] == "file"
