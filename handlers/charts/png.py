"""A Figure as a PNG image (Pillow), for chat: the same geometry the desk draws as SVG, drawn twice as large.

Chinese labels need a CJK font; `find_font` looks in the usual places (fonts-noto-cjk, WenQuanYi, the
setting's path). Without one, labels that a Latin font cannot show are left out of the picture (the caption
sent with it carries the figures in words), never drawn as empty boxes.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path as FilePath

from PIL import Image, ImageDraw, ImageFont

from handlers.charts.figure import Box, Figure, Path, Segment, Text

SCALE = 2
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
LATIN_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def find_font() -> tuple[str | None, bool]:
    """(font path, whether it has Chinese); (None, False) when only Pillow's built-in font is left."""
    for path in CJK_FONTS:
        if FilePath(path).exists():
            return path, True
    for path in LATIN_FONTS:
        if FilePath(path).exists():
            return path, False
    return None, False


@lru_cache(maxsize=16)
def _font(size: int) -> Font:
    path, _ = find_font()
    if path is None:
        return ImageFont.load_default()
    return ImageFont.truetype(path, size * SCALE)


def _drawable(text: str) -> str:
    _, cjk = find_font()
    return text if cjk or text.isascii() else "".join(ch for ch in text if ch.isascii()).strip()


def to_png(figure: Figure) -> bytes:
    image = Image.new("RGB", (figure.width * SCALE, figure.height * SCALE), "white")
    draw = ImageDraw.Draw(image)
    for shape in figure.shapes:
        if isinstance(shape, Segment):
            ends = [shape.x1 * SCALE, shape.y1 * SCALE, shape.x2 * SCALE, shape.y2 * SCALE]
            draw.line(ends, fill=shape.colour, width=round(shape.width * SCALE))
        elif isinstance(shape, Path):
            draw.line(
                [(x * SCALE, y * SCALE) for x, y in shape.points],
                fill=shape.colour,
                width=round(shape.width * SCALE),
                joint="curve",
            )
        elif isinstance(shape, Box):
            xy = (
                shape.x * SCALE,
                shape.y * SCALE,
                (shape.x + shape.w) * SCALE,
                (shape.y + max(shape.h, 0)) * SCALE,
            )
            if shape.round:
                draw.ellipse(xy, fill=shape.colour)
            elif shape.w > 0:
                draw.rectangle(xy, fill=shape.colour)
        elif isinstance(shape, Text):
            text = _drawable(shape.text)
            if text:
                anchor = {"start": "ls", "middle": "ms", "end": "rs"}[shape.anchor]
                draw.text(
                    (shape.x * SCALE, shape.y * SCALE),
                    text,
                    fill=shape.colour,
                    font=_font(shape.size),
                    anchor=anchor,
                )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
