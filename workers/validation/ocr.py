"""Reading the text inside an image, so grounding can find a fact that came from a screenshot.

Tesseract (Debian's `tesseract-ocr` with its English and German data; README set-up installs
it): it installs from the distribution with its language data, so nothing is downloaded at run
time; it reads printed UI and document text well on one CPU core (~0.4 s an image here); and it
gives a confidence per word, which is how a rotated scan is read the right way up. Each image is
prepared first: grayscale, enlarged when small (small print), contrast stretched (low contrast).
An image read with low confidence is read again turned a quarter, a half and three quarters,
and the best reading kept. Without Tesseract nothing is read, and grounding says so."""

import functools
import io
import shutil
import subprocess
import time
from dataclasses import dataclass

# Words read below this confidence (0..100) are noise, not text.
_MIN_WORD_CONFIDENCE = 30.0
# A reading this confident is taken as is; below, the other rotations are tried.
_CONFIDENT = 80.0
# Images narrower than this are enlarged twice over before reading (small print).
_SMALL_WIDTH = 600


@dataclass(frozen=True)
class Reading:
    """What was read in one image: its text (None: nothing readable), the mean confidence of
    its words, the rotation it was read at, and what it cost."""

    text: str | None
    confidence: float | None
    rotation: int
    seconds: float


@functools.cache
def reader_name(languages: str) -> str | None:
    """The reader's name and version with its languages (what a kept reading is keyed by), or
    None where Tesseract is not installed."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    first = (version.stdout or version.stderr).splitlines()[0] if version.returncode == 0 else ""
    return f"{first.strip() or 'tesseract'} {languages}"


def read_image(data: bytes, languages: str, timeout_s: float = 60.0) -> Reading:
    """The text in the image `data` (any format Pillow decodes), the right way up."""
    from PIL import Image, ImageOps

    started = time.perf_counter()
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.grayscale(opened)
    if image.width < _SMALL_WIDTH:
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)
    image = ImageOps.autocontrast(image, cutoff=1)
    best = _read(image, 0, languages, timeout_s)
    if best.confidence is None or best.confidence < _CONFIDENT:
        for rotation, turn in (
            (90, Image.Transpose.ROTATE_90),
            (180, Image.Transpose.ROTATE_180),
            (270, Image.Transpose.ROTATE_270),
        ):
            reading = _read(image.transpose(turn), rotation, languages, timeout_s)
            if _score(reading) > _score(best):
                best = reading
    seconds = round(time.perf_counter() - started, 4)
    return Reading(best.text, best.confidence, best.rotation, seconds)


def _score(reading: Reading) -> float:
    """Letters read, weighted by how sure the reader was of them."""
    if not reading.text or reading.confidence is None:
        return 0.0
    return len(reading.text.replace(" ", "")) * reading.confidence


def _read(image: object, rotation: int, languages: str, timeout_s: float) -> Reading:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # type: ignore[attr-defined]
    command = ["tesseract", "stdin", "stdout", "-l", languages, "--psm", "3", "tsv"]
    done = subprocess.run(
        command, input=buffer.getvalue(), capture_output=True, timeout=timeout_s, check=False
    )
    lines: dict[tuple[str, str, str], list[str]] = {}
    confidences = []
    for row in done.stdout.decode(errors="replace").splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) != 12 or not cells[11].strip():
            continue
        confidence = float(cells[10])
        if confidence < _MIN_WORD_CONFIDENCE:
            continue
        lines.setdefault((cells[2], cells[3], cells[4]), []).append(cells[11])
        confidences.append(confidence)
    if not confidences:
        return Reading(None, None, rotation, 0.0)
    text = "\n".join(" ".join(words) for words in lines.values())
    return Reading(text, round(sum(confidences) / len(confidences), 1), rotation, 0.0)
