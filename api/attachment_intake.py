"""Taking in a request's attachments at submit, before it is routed: each is read (inline
base64 or data URL, or an uploaded file streamed from the file store), bounded and decoded
(genroute.runtime.media), and named as a file of the owner's by its content and place, so a
retried request stores nothing new and an idempotent replay compares equal. The new bytes
(inline data, a video's sampled frames) are kept only once the request is accepted
(`keep_pending`): a request refused by its limits or its route, or answered as a replay,
leaves no file behind. Every refusal names the part (`attachments[i]`)."""

import base64
import binascii
import hashlib
import io
import re
import tempfile
from dataclasses import dataclass
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import Attachment, PrivacyTier, StoredAttachment, VideoFrame
from genroute.db.files import attachment_file_id, get_file
from genroute.errors import AttachmentRejected, InputTooLarge
from genroute.runtime.file_store import (
    FileStores,
    LargeObjects,
    S3Store,
    content_chunks,
    save_attachment_file,
)
from genroute.runtime.media import MediaRejected, decode_image, sample_video
from genroute.settings import Settings

# The Files API purposes an attachment may be uploaded under (OpenAI's names).
ATTACHMENT_PURPOSES = ("vision", "user_data")
# Inline attachments and sampled frames are kept as files of this purpose.
STORED_PURPOSE = "vision"
_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,", re.I)
# An uploaded file is spooled to disk past this, never held whole in memory.
_SPOOL_BYTES = 1 << 20


@dataclass(frozen=True)
class PendingFile:
    """Bytes to keep as an attachment's file once its request is accepted, and where."""

    store: "LargeObjects | S3Store"
    data: bytes
    sha256: str
    filename: str


@dataclass(frozen=True)
class TakenIn:
    """A request's attachments as its task will keep them, and the files still to write."""

    stored: list[StoredAttachment]
    pending: list[PendingFile]


def keep_pending(session: Session, owner: str, pending: list[PendingFile]) -> None:
    """Write an accepted request's new attachment files (each once: an earlier one of the same
    content and place stands)."""
    for file in pending:
        save_attachment_file(
            session,
            file.store,
            owner,
            STORED_PURPOSE,
            file.filename,
            io.BytesIO(file.data),
            len(file.data),
            file.sha256,
        )


@dataclass(frozen=True)
class AttachmentIntake:
    """What taking attachments in needs: the submitting owner's files and the limits."""

    session: Session
    sessions: sessionmaker[Session]
    store: FileStores
    settings: Settings
    owner: str
    # Where the request's data may go: its attachments are kept only where it admits.
    tier: PrivacyTier = PrivacyTier.external

    def take_in(
        self, attachments: list[Attachment], frames_per_s: float, field: str = "attachments"
    ) -> TakenIn:
        """Every attachment decoded and named, in order, with the files to write once the
        request is accepted; the first bad one refuses them all, naming it (`field[i]`)."""
        if len(attachments) > self.settings.max_attachments:
            raise AttachmentRejected(
                field,
                f"{len(attachments)} attachments, more than {self.settings.max_attachments} "
                "(GENROUTE_MAX_ATTACHMENTS)",
            )
        pending: list[PendingFile] = []
        stored = [
            self._one(item, frames_per_s, f"{field}[{index}]", pending)
            for index, item in enumerate(attachments)
        ]
        shown = sum(len(item.shown()) for item in stored)
        if shown > self.settings.max_images_per_request:
            raise AttachmentRejected(
                field,
                f"they show the model {shown} images (video frames included), more than "
                f"{self.settings.max_images_per_request} (GENROUTE_MAX_IMAGES_PER_REQUEST)",
            )
        return TakenIn(stored, pending)

    def _one(
        self, item: Attachment, frames_per_s: float, field: str, pending: list[PendingFile]
    ) -> StoredAttachment:
        with self._content(item, field) as content:
            size = content.seek(0, io.SEEK_END)
            digest = sha256_of(content)
            content.seek(0)
            try:
                if item.type == "image":
                    image = decode_image(content, self.settings.max_image_pixels)
                    media_type, width, height = image.media_type, image.width, image.height
                    frames, duration = [], None
                else:
                    video = sample_video(
                        content,
                        frames_per_s,
                        self.settings.max_video_frames,
                        self.settings.max_video_seconds,
                        self.settings.max_image_pixels,
                    )
                    media_type, width, height = video.media_type, video.width, video.height
                    frames = [self._frame(f.at_s, f.png, pending) for f in video.frames]
                    duration = round(video.duration_s, 3)
            except MediaRejected as exc:
                raise AttachmentRejected(field, f"{item.type}: {exc}") from None
            if item.file_id is not None:
                file_id = item.file_id
            else:
                content.seek(0)
                file_id = self._pending(content.read(), digest, item.name or item.type, pending)
        return StoredAttachment(
            type=item.type,
            file_id=file_id,
            name=item.name,
            media_type=media_type,
            bytes=size,
            sha256=digest,
            width=width,
            height=height,
            duration_s=duration,
            frames=frames,
        )

    def _content(self, item: Attachment, field: str) -> IO[bytes]:
        """The attachment's bytes as a file: inline data decoded, or an uploaded file copied
        from the store a piece at a time (to disk past a megabyte), bounded either way."""
        limit = self.settings.max_attachment_bytes
        if item.data is not None:
            data = _inline_bytes(item.data, field)
            if len(data) > limit:
                raise _too_large(field, len(data), limit)
            return io.BytesIO(data)
        row = get_file(self.session, item.file_id or "", self.owner, hold=True)
        if row is None:
            raise AttachmentRejected(field, f"no file '{item.file_id}' among this key's files")
        if row.purpose not in ATTACHMENT_PURPOSES:
            raise AttachmentRejected(
                field,
                f"file '{row.id}' was uploaded for '{row.purpose}'; attachments are uploaded "
                f"with purpose {' or '.join(ATTACHMENT_PURPOSES)}",
            )
        if row.bytes > limit:
            raise _too_large(field, row.bytes, limit)
        spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
        for piece in content_chunks(self.sessions, row, self.store):
            spooled.write(piece)
        return spooled

    def _frame(self, at_s: float, png: bytes, pending: list[PendingFile]) -> VideoFrame:
        digest = hashlib.sha256(png).hexdigest()
        file_id = self._pending(png, digest, f"frame-{at_s:.3f}s.png", pending)
        return VideoFrame(file_id=file_id, at_s=at_s, sha256=digest)

    def _pending(self, data: bytes, digest: str, filename: str, pending: list[PendingFile]) -> str:
        """The id the bytes' file will have where the request's tier admits them."""
        store = self.store.for_tier(self.tier)
        pending.append(PendingFile(store, data, digest, filename[:256]))
        return attachment_file_id(self.owner, digest, store.place)


def sha256_of(content: IO[bytes]) -> str:
    content.seek(0)
    digest = hashlib.sha256()
    while piece := content.read(_SPOOL_BYTES):
        digest.update(piece)
    return digest.hexdigest()


def _inline_bytes(data: str, field: str) -> bytes:
    """The bytes of inline `data`: a `data:` URL with base64 content, or bare base64."""
    if data[:5].lower() == "data:":
        match = _DATA_URL.match(data)
        if match is None:
            raise AttachmentRejected(field, "a data URL must be base64: data:<type>;base64,...")
        data = data[match.end() :]
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentRejected(field, "data is not valid base64") from None


def _too_large(field: str, size: int, limit: int) -> InputTooLarge:
    return InputTooLarge(field, f"{size} bytes, more than {limit} (GENROUTE_MAX_ATTACHMENT_BYTES)")
