"""Decoding and bounding images and video, so a bad file is refused at submit and never first
met on a GPU worker: Pillow decodes every pixel of an image (a truncated file fails here), and
PyAV decodes a video and samples its frames. Limits are checked before the work they bound:
an image's pixel count from its header, a video's duration from its container."""

import io
import warnings
from dataclasses import dataclass
from typing import IO

# Pillow's format names for the media types genroute accepts.
_IMAGE_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
# PyAV's demuxer names (comma-separated aliases) for the video containers genroute accepts.
_VIDEO_CONTAINERS = {"mp4": "video/mp4", "webm": "video/webm"}


class MediaRejected(ValueError):
    """The file is not an image or video genroute takes, or is corrupt; says why."""


class MediaTooLarge(MediaRejected):
    """The file is a valid one, but beyond a limit (pixels, duration)."""


@dataclass(frozen=True)
class DecodedImage:
    media_type: str
    width: int
    height: int


@dataclass(frozen=True)
class SampledFrame:
    at_s: float
    png: bytes


@dataclass(frozen=True)
class DecodedVideo:
    media_type: str
    width: int
    height: int
    duration_s: float
    frames: list[SampledFrame]


def decode_image(content: IO[bytes], max_pixels: int) -> DecodedImage:
    """What `content` is, once every pixel decoded (a GIF's first frame); MediaRejected if it
    is not a PNG, JPEG, WebP or GIF, is corrupt or truncated, or has more than `max_pixels`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(content, formats=tuple(_IMAGE_FORMATS))
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise MediaTooLarge(
                    f"{width}x{height} is {width * height} pixels, more than {max_pixels} "
                    "(GENROUTE_MAX_IMAGE_PIXELS)"
                )
            image.load()
            media_type = _IMAGE_FORMATS[str(image.format)]
    except MediaRejected:
        raise
    except UnidentifiedImageError:
        raise MediaRejected("not a PNG, JPEG, WebP or GIF image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge(f"too many pixels ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaRejected(f"the image is corrupt or truncated ({exc})") from None
    return DecodedImage(media_type, width, height)


def sample_video(
    content: IO[bytes], frames_per_s: float, max_frames: int, max_seconds: float, max_pixels: int
) -> DecodedVideo:
    """A video's frames at `frames_per_s`, each as PNG; where that would take more than
    `max_frames`, fewer a second, spread over the whole video (no end is dropped unseen).
    MediaRejected if it is not an MP4 or WebM video, is corrupt, or is longer than
    `max_seconds` or larger than `max_pixels` a frame."""
    import av

    try:
        with av.open(content, mode="r") as container:
            media_type = _container_media_type(container.format.name)
            if not container.streams.video:
                raise MediaRejected("the file holds no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > max_pixels:
                raise MediaTooLarge(
                    f"frames of {width}x{height} are more than {max_pixels} pixels "
                    "(GENROUTE_MAX_IMAGE_PIXELS)"
                )
            duration = container.duration / av.time_base if container.duration else None
            if duration is not None and duration > max_seconds:
                raise MediaTooLarge(
                    f"{duration:.1f} s long, more than {max_seconds:g} s "
                    "(GENROUTE_MAX_VIDEO_SECONDS)"
                )
            if duration is not None and duration * frames_per_s > max_frames:
                frames_per_s = max_frames / duration
            frames, last_s = _sampled(container, stream, frames_per_s, max_frames, max_seconds)
    except MediaRejected:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaRejected(f"the video is corrupt or unreadable ({exc})") from None
    if not frames:
        raise MediaRejected("the video has no frame that decodes")
    return DecodedVideo(media_type, width, height, duration or last_s, frames)


def _container_media_type(names: str) -> str:
    for alias in names.split(","):
        if alias in _VIDEO_CONTAINERS:
            return _VIDEO_CONTAINERS[alias]
    raise MediaRejected(f"not an MP4 or WebM video (the container is {names})")


def _sampled(
    container: object, stream: object, frames_per_s: float, max_frames: int, max_seconds: float
) -> tuple[list[SampledFrame], float]:
    """Decode frames in order, keeping the first at or past each sampling time; a video whose
    container did not say its duration is bounded here, as it plays."""
    frames: list[SampledFrame] = []
    next_s, at_s = 0.0, 0.0
    for frame in container.decode(stream):  # type: ignore[attr-defined]
        at_s = float(frame.time or 0.0)
        if at_s > max_seconds:
            raise MediaTooLarge(f"longer than {max_seconds:g} s (GENROUTE_MAX_VIDEO_SECONDS)")
        if at_s + 1e-6 < next_s:
            continue
        buffer = io.BytesIO()
        frame.to_image().save(buffer, format="PNG")
        frames.append(SampledFrame(round(at_s, 3), buffer.getvalue()))
        next_s = at_s + 1.0 / frames_per_s
        if len(frames) >= max_frames:
            break
    return frames, at_s
