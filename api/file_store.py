"""Where the Batch API's file bytes live: in the file's PostgreSQL row (the default), or in an
S3-compatible bucket when `GENROUTE_FILES_S3_URL` names one (`s3://bucket/prefix`), the row
then holding the object's location. Credentials come from the usual AWS variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); the endpoint from GENROUTE_FILES_S3_ENDPOINT_URL
(MinIO, Ceph, R2, ...), else AWS's own."""

import logging
from collections.abc import Iterator
from typing import IO, Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from genroute.db.batches import add_file, file_content_chunk, new_id
from genroute.db.models import StoredFile
from genroute.errors import Overloaded
from genroute.settings import Settings

log = logging.getLogger(__name__)


# A download's piece: bounded memory per download whatever the file's size.
CHUNK_BYTES = 1 << 20


class FileStore(Protocol):
    """Keeps a file's bytes outside its row; `put` answers where (None: in the row)."""

    def put(self, file_id: str, content: IO[bytes]) -> str | None: ...

    def get(self, location: str) -> bytes: ...

    def chunks(self, location: str) -> Iterator[bytes]: ...

    def delete(self, location: str) -> None: ...


class InDatabase:
    """The bytes stay in the file's row."""

    def put(self, _file_id: str, _content: IO[bytes]) -> None:
        return None

    def get(self, location: str) -> bytes:
        raise LookupError(f"{location}: this deployment keeps files in PostgreSQL")

    def chunks(self, location: str) -> Iterator[bytes]:
        raise LookupError(f"{location}: this deployment keeps files in PostgreSQL")

    def delete(self, _location: str) -> None:
        return None


class S3Store:
    """An S3-compatible bucket, objects named `<prefix><file id>`. A store that cannot be
    reached answers 503 with Retry-After, never a 500."""

    def __init__(self, url: str, endpoint_url: str, region: str) -> None:
        import boto3  # the `s3` extra

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self._bucket = bucket
        self._prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self._client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region)

    def put(self, file_id: str, content: IO[bytes]) -> str:
        """Streamed from `content` (in parts for a large file), never read whole."""
        key = f"{self._prefix}{file_id}"
        self._call("upload_fileobj", content, self._bucket, key)
        return f"s3://{self._bucket}/{key}"

    def get(self, location: str) -> bytes:
        return self._call("get_object", **self._object(location))["Body"].read()

    def chunks(self, location: str) -> Iterator[bytes]:
        body = self._call("get_object", **self._object(location))["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def delete(self, location: str) -> None:
        self._call("delete_object", **self._object(location))

    def _object(self, location: str) -> dict[str, str]:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        return {"Bucket": bucket, "Key": key}

    def _call(self, operation: str, *arguments: Any, **keywords: Any) -> Any:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, operation)(*arguments, **keywords)
        except S3UploadFailedError as exc:
            log.warning("the file store failed %s: %s", operation, exc)
            raise Overloaded("file", f"the file store is unavailable ({exc}); retry") from exc
        except (BotoCoreError, ClientError) as exc:
            log.warning("the file store failed %s: %s", operation, exc)
            raise Overloaded("file", f"the file store is unavailable ({exc}); retry") from exc


def file_store(settings: Settings) -> FileStore:
    if not settings.files_s3_url:
        return InDatabase()
    return S3Store(settings.files_s3_url, settings.files_s3_endpoint_url, settings.files_s3_region)


def save_file(
    session: Session,
    store: FileStore,
    owner: str,
    purpose: str,
    filename: str,
    content: IO[bytes],
    size: int,
) -> StoredFile:
    """A new file row of `size` bytes read from `content`: streamed to the store, or read
    into the row. An object whose row then fails to commit is left in the bucket, never a row
    without its bytes."""
    file_id = new_id("file-")
    location = store.put(file_id, content)
    stored = None if location is not None else content.read()
    return add_file(session, file_id, owner, purpose, filename, stored, size, location)


def content_of(row: StoredFile, store: FileStore) -> bytes:
    return row.content if row.location is None else store.get(row.location)


def content_chunks(
    sessions: sessionmaker[Session], row: StoredFile, store: FileStore
) -> Iterator[bytes]:
    """A file's bytes in pieces of at most CHUNK_BYTES, each read as it is sent (a short
    session per piece for a file kept in its row)."""
    if row.location is not None:
        yield from store.chunks(row.location)
        return
    for offset in range(0, row.bytes, CHUNK_BYTES):
        with sessions() as session:
            yield file_content_chunk(session, row.id, offset, CHUNK_BYTES)
