"""Where the Batch API's file bytes live: in a PostgreSQL large object (the default), or in an
S3-compatible bucket when `GENROUTE_FILES_S3_URL` names one (`s3://bucket/prefix`); the file's
row holds the location (files stored by earlier versions keep their bytes in the row). Both
stores write and read a piece at a time, so no upload or download holds a file whole.
Credentials come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); the
endpoint from GENROUTE_FILES_S3_ENDPOINT_URL (MinIO, Ceph, R2, ...), else AWS's own."""

import logging
from collections.abc import Iterator
from typing import IO, Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import PrivacyTier
from genroute.db.files import (
    add_file,
    add_file_once,
    attachment_file_id,
    file_content_chunk,
    get_file,
    new_id,
)
from genroute.db.models import StoredFile
from genroute.errors import Overloaded
from genroute.runtime.placement import location_of_url
from genroute.settings import Settings

log = logging.getLogger(__name__)


# A download's piece: bounded memory per download whatever the file's size.
CHUNK_BYTES = 1 << 20


class FileStore(Protocol):
    """Keeps a file's bytes outside its row; `put` answers where."""

    def put(self, file_id: str, content: IO[bytes]) -> str: ...

    def chunks(self, location: str, start: int = 0) -> Iterator[bytes]: ...

    def delete(self, location: str) -> None: ...


class LargeObjects:
    """PostgreSQL large objects (lo_put / lo_get, a piece at a time), at `pg-lo:<oid>`."""

    scheme = "pg-lo:"
    place = "database"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def put(self, _file_id: str, content: IO[bytes]) -> str:
        """Written in its own transaction, before the file's row: a row whose commit then
        fails leaves an object no row names, never a row without its bytes."""
        with self._sessions.begin() as session:
            oid = session.execute(text("SELECT lo_create(0)")).scalar_one()
            offset = 0
            while piece := content.read(CHUNK_BYTES):
                put = text("SELECT lo_put(:oid, :offset, :piece)")
                session.execute(put, {"oid": oid, "offset": offset, "piece": piece})
                offset += len(piece)
        return f"{self.scheme}{oid}"

    def chunks(self, location: str, start: int = 0) -> Iterator[bytes]:
        oid, offset = int(location.removeprefix(self.scheme)), start
        while True:
            with self._sessions() as session:
                read = text("SELECT lo_get(:oid, :offset, :size)")
                params = {"oid": oid, "offset": offset, "size": CHUNK_BYTES}
                piece = session.execute(read, params).scalar_one()
            if not piece:
                return
            yield piece
            offset += len(piece)

    def delete(self, location: str) -> None:
        with self._sessions.begin() as session:
            unlink = text("SELECT lo_unlink(:oid)")
            session.execute(unlink, {"oid": int(location.removeprefix(self.scheme))})


class FileStores:
    """New files go to the configured store (S3 when set, else large objects); a stored file is
    read from wherever its location says, so changing the setting strands no file. A request's
    attachments go only where its privacy tier admits: to the bucket if the tier admits where
    the bucket is (an AWS bucket is external), else to PostgreSQL, beside the task's text."""

    def __init__(
        self,
        database: LargeObjects,
        bucket: "S3Store | None",
        bucket_location: PrivacyTier = PrivacyTier.external,
    ) -> None:
        self._database = database
        self._bucket = bucket
        self._bucket_location = bucket_location

    def put(self, file_id: str, content: IO[bytes]) -> str:
        return (self._bucket or self._database).put(file_id, content)

    def for_tier(self, tier: PrivacyTier) -> "LargeObjects | S3Store":
        """Where a file under privacy tier `tier` may be kept."""
        if self._bucket is not None and tier.admits(self._bucket_location):
            return self._bucket
        return self._database

    def chunks(self, location: str, start: int = 0) -> Iterator[bytes]:
        return self._at(location).chunks(location, start)

    def delete(self, location: str) -> None:
        self._at(location).delete(location)

    def _at(self, location: str) -> FileStore:
        if location.startswith(LargeObjects.scheme):
            return self._database
        if self._bucket is None:
            raise Overloaded("file", f"{location} is in an S3 store this deployment does not set")
        return self._bucket


class S3Store:
    """An S3-compatible bucket, objects named `<prefix><file id>`. A store that cannot be
    reached answers 503 with Retry-After, never a 500."""

    place = "bucket"

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

    def chunks(self, location: str, start: int = 0) -> Iterator[bytes]:
        """From byte `start` on (an HTTP Range), so a reader resuming mid-file fetches only
        the rest."""
        ranged = {"Range": f"bytes={start}-"} if start else {}
        body = self._call("get_object", **self._object(location), **ranged)["Body"]
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


def file_store(settings: Settings, sessions: sessionmaker[Session]) -> FileStores:
    bucket = None
    if settings.files_s3_url:
        bucket = S3Store(
            settings.files_s3_url, settings.files_s3_endpoint_url, settings.files_s3_region
        )
    # Without an endpoint, the bucket is AWS's own: outside the cluster.
    endpoint = settings.files_s3_endpoint_url or "https://s3.amazonaws.com"
    return FileStores(LargeObjects(sessions), bucket, location_of_url(endpoint))


def save_file(
    session: Session,
    store: FileStore,
    owner: str,
    purpose: str,
    filename: str,
    content: IO[bytes],
    size: int,
) -> StoredFile:
    """A new file row of `size` bytes streamed from `content` to the store. An object whose
    row then fails to commit is left in the store, never a row without its bytes."""
    file_id = new_id("file-")
    location = store.put(file_id, content)
    return add_file(session, file_id, owner, purpose, filename, None, size, location)


def save_attachment_file(
    session: Session,
    store: "LargeObjects | S3Store",
    owner: str,
    purpose: str,
    filename: str,
    content: IO[bytes],
    size: int,
    sha256: str,
) -> StoredFile:
    """The owner's file of these bytes (an image or video) in `store` (as the request's privacy
    tier chose it): an earlier one of the same content and place, or a new one named by them,
    so the same screenshot sent or uploaded twice is one file and a request naming it replays
    as the same request. Bytes a concurrent call stored first are dropped again."""
    file_id = attachment_file_id(owner, sha256, store.place)
    row = get_file(session, file_id, owner, hold=True)
    if row is not None:
        return row
    content.seek(0)
    location = store.put(file_id, content)
    if not add_file_once(session, file_id, owner, purpose, filename[:256], size, location):
        store.delete(location)
    row = get_file(session, file_id, owner)
    assert row is not None
    return row


def content_chunks(
    sessions: sessionmaker[Session], row: StoredFile, store: FileStore, start: int = 0
) -> Iterator[bytes]:
    """A file's bytes from byte `start` on, in pieces of at most CHUNK_BYTES, each read as it
    is wanted (a short session per piece for a file an earlier version kept in its row)."""
    if start >= row.bytes:  # nothing left (and S3 refuses a range past the end)
        return
    if row.location is not None:
        yield from store.chunks(row.location, start)
        return
    for offset in range(start, row.bytes, CHUNK_BYTES):
        with sessions() as session:
            yield file_content_chunk(session, row.id, offset, CHUNK_BYTES)
