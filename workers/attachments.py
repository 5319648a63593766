"""A task's attachments as its model is given them: each image, and each frame sampled from a
video, read from the file store (bounded at submit), in the request's order."""

from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from genroute.contract import InputModality, Modality, StoredAttachment
from genroute.db.files import get_file
from genroute.errors import EngineError
from genroute.interfaces import ImageInput
from genroute.runtime.file_store import FileStore, content_chunks


def stored_attachments(task_request: dict) -> list[StoredAttachment]:
    return [StoredAttachment.model_validate(item) for item in task_request.get("attachments", [])]


def untaken_input(task_request: dict, takes: frozenset[Modality]) -> str | None:
    """Why a path whose model takes `takes` must not run this task, or None if it may."""
    modality = InputModality(task_request.get("input_modality", "text"))
    missing = sorted(modality.needs() - takes)
    if not missing:
        return None
    return f"this path's model does not take {', '.join(missing)} input ({modality.value} task)"


def images_of(
    sessions: sessionmaker[Session], store: FileStore, task_request: dict
) -> tuple[ImageInput, ...]:
    """Every image the task shows its model: attachments as sent, videos as their frames."""
    return tuple(_images(sessions, store, stored_attachments(task_request)))


def _images(
    sessions: sessionmaker[Session], store: FileStore, attachments: list[StoredAttachment]
) -> Iterator[ImageInput]:
    for index, attachment in enumerate(attachments):
        label = attachment.label(index)
        for image in attachment.shown():
            data = file_bytes(sessions, store, image.file_id)
            if image.at_s is None:
                yield ImageInput(image.media_type, data, label)
                continue
            minutes, seconds = divmod(int(image.at_s), 60)
            yield ImageInput(image.media_type, data, f"{label} {minutes:02d}:{seconds:02d}")


def file_bytes(sessions: sessionmaker[Session], store: FileStore, file_id: str) -> bytes:
    """A stored attachment's bytes (at most GENROUTE_MAX_ATTACHMENT_BYTES, checked at submit)."""
    with sessions() as session:
        row = get_file(session, file_id, None)
        if row is None:
            raise EngineError(f"attachment file {file_id} no longer exists (deleted?)")
        session.expunge(row)
    return b"".join(content_chunks(sessions, row, store))
