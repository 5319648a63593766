"""Grounding that can see: Tesseract reads rendered screenshots (small print, low contrast,
rotated, German), and a fact found only in a screenshot is grounded while one in neither the
ticket nor the screenshot is caught. Real images and the real reader, no stand-ins."""

import os
import shutil

import pytest
from PIL import Image

from genroute.interfaces import AttachmentText, ValidationInput
from genroute.workers.validation.grounding import Grounding
from genroute.workers.validation.ocr import read_image, reader_name
from tests.media import image_bytes

if shutil.which("tesseract") is None and os.geteuid() != 0:  # pragma: no cover - set-up's job
    pytest.skip(
        "tesseract-ocr is installed by `dev.py setup` as root only", allow_module_level=True
    )

TICKET = "Checkout fails at the payment step, see the screenshot."
SCREENSHOT = image_bytes("Payment declined for order ORD-4411", (900, 120))


def _rotated(data: bytes) -> bytes:
    import io

    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.transpose(Image.Transpose.ROTATE_90).save(buffer, format="PNG")
        return buffer.getvalue()


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (SCREENSHOT, ["ORD-4411", "declined"]),
        (
            image_bytes("Refunds void after 30 days. Ref REF-7781", (420, 30), font_size=11),
            ["REF-7781"],
        ),
        (
            image_bytes("Error E-4021: reset failed", (640, 90), "PNG", "#e6e6e6", "#c8c8c8"),
            ["E-4021"],
        ),
        (_rotated(image_bytes("Tracking TRK-55821 delivered", (640, 90))), ["TRK-55821"]),
        (
            image_bytes("Rechnung RE-2026-0412 fällig am 15.12.2026", (900, 90)),
            ["RE-2026-0412", "fällig", "15.12.2026"],
        ),
    ],
    ids=["plain", "small-print", "low-contrast", "rotated", "german"],
)
def test_the_reader_finds_the_text_of_rendered_screenshots(
    image: bytes, expected: list[str]
) -> None:
    reading = read_image(image, "eng+deu")
    assert reading.text is not None
    for word in expected:
        assert word in reading.text, (word, reading.text)
    assert reader_name("eng+deu").startswith("tesseract 5")


def _subject(output: str, *texts: AttachmentText) -> ValidationInput:
    return ValidationInput(output, TICKET, TICKET, 20, None, attachment_texts=texts)


def test_a_number_only_in_the_screenshot_is_grounded_and_an_invented_one_is_not() -> None:
    shown = AttachmentText("attachments[0] (checkout.png)", read_image(SCREENSHOT, "eng").text)
    grounded = Grounding().check(_subject("Payment for order ORD-4411 was declined.", shown))
    assert grounded.passed, grounded.details
    assert grounded.details["found_in_attachments"] == {
        "ORD-4411": ["attachments[0] (checkout.png)"]
    }
    invented = Grounding().check(_subject("Payment for order ORD-9917 was declined.", shown))
    assert not invented.passed
    assert invented.details["ungrounded"] == {"ids": ["ORD-9917"]}
    # Without the screenshot's text, the number it shows is not grounded either.
    blind = Grounding().check(_subject("Payment for order ORD-4411 was declined."))
    assert not blind.passed


def test_an_attachment_without_readable_text_is_named_not_passed_over() -> None:
    blank = read_image(image_bytes("", (300, 200)), "eng")
    assert blank.text is None
    unread = AttachmentText("attachments[0]", None, "no readable text was found in it")
    verdict = Grounding().check(_subject("Payment for order ORD-4411 was declined.", unread))
    assert not verdict.passed
    assert verdict.details["could_not_read"] == {"attachments[0]": unread.unread}
    plain = Grounding().check(_subject("The payment step fails.", unread))
    assert plain.passed and "could_not_read" in plain.details


def test_an_id_whose_digits_ocr_split_is_still_grounded_in_the_image() -> None:
    read = AttachmentText("attachments[0]", "TRK-96 183 Basel\nGewicht: 3,7 kg")
    verdict = Grounding().check(_subject("Das Paket TRK-96183 geht nach Basel.", read))
    assert verdict.passed, verdict.details
    assert verdict.details["found_in_attachments"]["TRK-96183"] == ["attachments[0]"]
