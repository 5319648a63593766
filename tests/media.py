"""Images and videos made for tests, rendered with Pillow and encoded with PyAV: real files,
so every decoder on the way meets what a producer would send."""

import base64
import io

from PIL import Image, ImageDraw


def image_bytes(
    text: str = "",
    size: tuple[int, int] = (480, 160),
    kind: str = "PNG",
    colour: str = "white",
    ink: str = "black",
    font_size: int = 36,
) -> bytes:
    """An image of `size` with `text` drawn on it (`ink` on `colour`), encoded as `kind`."""
    image = Image.new("RGB", size, colour)
    if text:
        ImageDraw.Draw(image).text((12, 8), text, fill=ink, font_size=font_size)
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def video_bytes(seconds: int = 3, fps: int = 10, container: str = "mp4") -> bytes:
    """A `seconds`-long video of changing frames, MP4 (MPEG-4 part 2) or WebM (VP9)."""
    import av

    codec = "mpeg4" if container == "mp4" else "libvpx-vp9"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(seconds * fps):
            frame = Image.new("RGB", (64, 48), (index * 8 % 255, 40, 90))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()
