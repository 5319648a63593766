"""The text inside a task's attachments, for grounding: each image (a video's frames, for a
video) read once by OCR and kept by its content's hash, so a retry, a fallback attempt or
another task showing the same screenshot reads nothing again. What reading cost is returned
for the attempt's record."""

import logging
import subprocess
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import StoredAttachment
from genroute.db.attachment_texts import keep_read, read_before
from genroute.errors import EngineError
from genroute.interfaces import AttachmentText
from genroute.runtime.file_store import FileStore
from genroute.workers.attachments import file_bytes, stored_attachments
from genroute.workers.validation.ocr import read_image, reader_name

log = logging.getLogger(__name__)


@dataclass
class ReadingCost:
    """What reading a task's attachments cost: images read now (and their CPU seconds), and
    images whose text was kept from an earlier reading."""

    read: int = 0
    kept: int = 0
    seconds: float = 0.0

    def facts(self, reader: str | None) -> dict[str, object]:
        return {
            "ocr_reader": reader,
            "ocr_images_read": self.read,
            "ocr_images_kept": self.kept,
            "ocr_seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True)
class AttachmentReader:
    sessions: sessionmaker[Session]
    store: FileStore
    languages: str

    def texts(self, task_request: dict) -> tuple[tuple[AttachmentText, ...], dict[str, object]]:
        """The text read in each attachment, in order, and what reading cost."""
        reader = reader_name(self.languages)
        cost = ReadingCost()
        texts = tuple(
            self._attachment(attachment, index, reader, cost)
            for index, attachment in enumerate(stored_attachments(task_request))
        )
        return texts, cost.facts(reader)

    def _attachment(
        self, attachment: StoredAttachment, index: int, reader: str | None, cost: ReadingCost
    ) -> AttachmentText:
        label = attachment.label(index)
        if reader is None:
            return AttachmentText(label, None, "no OCR reader is installed (tesseract-ocr)")
        try:
            read = [
                self._image(image.sha256, image.file_id, reader, cost)
                for image in attachment.shown()
            ]
        except (EngineError, OSError, ValueError, subprocess.SubprocessError) as exc:
            log.warning("could not read %s: %s", label, exc)
            return AttachmentText(label, None, f"reading it failed ({type(exc).__name__})")
        found = [text for text in read if text]
        if not found:
            return AttachmentText(label, None, "no readable text was found in it")
        return AttachmentText(label, "\n".join(found))

    def _image(self, sha256: str, file_id: str, reader: str, cost: ReadingCost) -> str | None:
        with self.sessions() as session:
            kept = read_before(session, sha256, reader)
            if kept is not None:
                cost.kept += 1
                return kept.text
        reading = read_image(file_bytes(self.sessions, self.store, file_id), self.languages)
        cost.read += 1
        cost.seconds += reading.seconds
        with self.sessions.begin() as session:
            keep_read(
                session,
                sha256,
                reader,
                reading.text,
                reading.confidence,
                reading.rotation,
                reading.seconds,
            )
        return reading.text
