"""A Figure as inline SVG markup (escaped; links are ordinary <a> elements, so no script is needed)."""

from __future__ import annotations

from html import escape

from handlers.charts.figure import Box, Figure, Path, Segment, Text


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _shape(shape: Box | Path | Segment | Text) -> str:
    if isinstance(shape, Text):
        return (
            f'<text x="{_n(shape.x)}" y="{_n(shape.y)}" font-size="{shape.size}" '
            f'text-anchor="{shape.anchor}" fill="{shape.colour}">{escape(shape.text)}</text>'
        )
    if isinstance(shape, Segment):
        return (
            f'<line x1="{_n(shape.x1)}" y1="{_n(shape.y1)}" x2="{_n(shape.x2)}" y2="{_n(shape.y2)}" '
            f'stroke="{shape.colour}" stroke-width="{_n(shape.width)}"/>'
        )
    if isinstance(shape, Path):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in shape.points)
        return (
            f'<polyline points="{points}" fill="none" stroke="{shape.colour}" '
            f'stroke-width="{_n(shape.width)}"/>'
        )
    title = f"<title>{escape(shape.title)}</title>" if shape.title else ""
    if shape.round:
        r = shape.w / 2
        body = f'<circle cx="{_n(shape.x + r)}" cy="{_n(shape.y + r)}" r="{_n(r)}" fill="{shape.colour}">'
        body += f"{title}</circle>"
    else:
        body = (
            f'<rect x="{_n(shape.x)}" y="{_n(shape.y)}" width="{_n(shape.w)}" height="{_n(shape.h)}" '
            f'fill="{shape.colour}">{title}</rect>'
        )
    return f'<a href="{escape(shape.href)}">{body}</a>' if shape.href else body


def to_svg(figure: Figure) -> str:
    """The figure scaled to its container's width (viewBox), titled for screen readers."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {figure.width} {figure.height}" '
        f'class="chart" role="img" aria-label="{escape(figure.title)}">',
        f"<title>{escape(figure.title)}</title>",
        *(_shape(s) for s in figure.shapes),
        "</svg>",
    ]
    return "".join(parts)
