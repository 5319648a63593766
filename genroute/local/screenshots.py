"""Rendering the project's own images from a plain description (a spec), with Pillow: error
dialogs, invoices and shipping labels with small print, low-contrast notices, rotated scans and
charts whose series share a colour. A spec is data (JSON), so a labelled image set is kept as
specs and rendered where it is used: the same spec gives the same picture on the same Pillow.

    {"size": [w, h], "background": "#fff",
     "boxes": [{"xy": [x0, y0, x1, y1], "fill": "#eee", "outline": "#999"}],
     "texts": [{"xy": [x, y], "text": "...", "size": 18, "ink": "#000"}],
     "chart": {"xy": [x0, y0, x1, y1], "labels": ["Jan", ...],
               "series": [{"name": "EU", "values": [..], "colour": "#1f77b4"}, ...]},
     "rotate": 0 | 90 | 180 | 270}
"""

import io
from typing import Any

from PIL import Image, ImageDraw

_ROTATIONS = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def render(spec: dict[str, Any], kind: str = "PNG") -> bytes:
    """The image `spec` describes, encoded as `kind` (PNG by default)."""
    image = Image.new("RGB", tuple(spec["size"]), spec.get("background", "#ffffff"))
    draw = ImageDraw.Draw(image)
    for box in spec.get("boxes", []):
        draw.rectangle(box["xy"], fill=box.get("fill"), outline=box.get("outline"), width=2)
    for text in spec.get("texts", []):
        draw.text(
            tuple(text["xy"]), text["text"], fill=text.get("ink", "#000000"), font_size=text["size"]
        )
    if "chart" in spec:
        _chart(draw, spec["chart"])
    rotation = spec.get("rotate", 0)
    if rotation:
        image = image.transpose(_ROTATIONS[rotation])
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def _chart(draw: ImageDraw.ImageDraw, chart: dict[str, Any]) -> None:
    """A line chart: axes, a label under each point, one polyline per series (colours may
    repeat, as in the charts people misread), each series named with its last value right of
    its last point (moved down where it would overlap the one before)."""
    x0, y0, x1, y1 = chart["xy"]
    draw.line([(x0, y0), (x0, y1), (x1, y1)], fill="#333333", width=2)
    labels = chart["labels"]
    top = max(max(series["values"]) for series in chart["series"]) or 1
    step = (x1 - x0 - 40) / max(1, len(labels) - 1)

    def point(index: int, value: float) -> tuple[float, float]:
        return (x0 + 20 + index * step, y1 - 10 - (y1 - y0 - 30) * value / top)

    for index, label in enumerate(labels):
        draw.text((x0 + 8 + index * step, y1 + 6), label, fill="#333333", font_size=14)
    taken: list[float] = []
    for series in chart["series"]:
        points = [point(i, value) for i, value in enumerate(series["values"])]
        draw.line(points, fill=series["colour"], width=3)
        end_x, end_y = points[-1]
        label_y = end_y - 9
        while any(abs(label_y - other) < 20 for other in taken):
            label_y += 20
        taken.append(label_y)
        name = f"{series['name']} {series['values'][-1]}"
        draw.text((end_x + 10, label_y), name, fill=series["colour"], font_size=16)
