"""Images and video a request carries beside its text: as a producer sends them (`Attachment`:
inline base64 or a data URL, or an uploaded file's id) and as a task keeps them once decoded at
submit (`StoredAttachment`: where the bytes are, what they are, and a video's sampled frames).
A request's `input_modality` is derived from them, never trusted from the producer."""

from enum import StrEnum
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What each kind of attachment may be, by the media type its bytes decode as.
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
VIDEO_MEDIA_TYPES = ("video/mp4", "video/webm")


class Modality(StrEnum):
    """A kind of input a path's model can take."""

    text = "text"
    image = "image"
    video = "video"


class InputModality(StrEnum):
    """What a request holds: text only, text with images, with video, or with both."""

    text = "text"
    image = "image"
    video = "video"
    mixed = "mixed"

    @classmethod
    def of(cls, kinds: "list[str]") -> "InputModality":
        present = set(kinds)
        if not present:
            return cls.text
        if present == {"image"}:
            return cls.image
        if present == {"video"}:
            return cls.video
        return cls.mixed

    def needs(self) -> frozenset[Modality]:
        """Every modality a path must accept to serve a request of this kind."""
        extra = {
            InputModality.text: set(),
            InputModality.image: {Modality.image},
            InputModality.video: {Modality.video},
            InputModality.mixed: {Modality.image, Modality.video},
        }[self]
        return frozenset({Modality.text, *extra})


class Attachment(BaseModel):
    """An image (PNG, JPEG, WebP; a GIF's first frame) or a video (MP4, WebM) sent with a
    request: inline (`data`: base64, or a `data:` URL) or uploaded first (`file_id`, from
    `POST /v1/files` with purpose `vision` or `user_data`). Decoded and bounded at submit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["image", "video"]
    data: str | None = Field(default=None, min_length=1)
    file_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # A label for people and prompts (a screenshot's file name); never read as content.
    name: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _one_source(self) -> "Attachment":
        if (self.data is None) == (self.file_id is None):
            raise ValueError("give exactly one of data (inline) or file_id (an uploaded file)")
        return self


class VideoFrame(BaseModel):
    """One frame sampled from a video at submit, kept as a PNG file of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file_id: str
    at_s: float = Field(ge=0)
    sha256: str


class ShownImage(NamedTuple):
    """One image an attachment shows a model: the attachment itself, or a video's frame
    (`at_s` its time in the video)."""

    file_id: str
    sha256: str
    media_type: str
    at_s: float | None = None


class StoredAttachment(BaseModel):
    """An attachment as its task keeps it: the file its bytes are in, what they decoded as,
    and for a video the frames sampled from it (what models are given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["image", "video"]
    file_id: str
    name: str | None = None
    media_type: str
    bytes: int = Field(ge=0)
    sha256: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    duration_s: float | None = None
    frames: list[VideoFrame] = []

    def shown(self) -> list[ShownImage]:
        """The images a model is shown of it: an image itself, a video its sampled frames."""
        if self.type == "image":
            return [ShownImage(self.file_id, self.sha256, self.media_type)]
        return [ShownImage(f.file_id, f.sha256, "image/png", f.at_s) for f in self.frames]

    def label(self, index: int) -> str:
        """How verdicts and prompts name it: its position, and its name when it has one."""
        return f"attachments[{index}]" + (f" ({self.name})" if self.name else "")
