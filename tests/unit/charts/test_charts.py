"""Chart geometry (one layout for the desk's SVG and chat's PNG), its SVG markup and its PNG drawing."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from handlers.charts import png
from handlers.charts.figure import Bar, Box, Series, Text, bar_chart, line_chart, nice_top
from handlers.charts.svg import to_svg


def test_axis_tops_are_round_and_cover_the_data() -> None:
    assert [nice_top(v) for v in (0, 1, 3, 5, 12, 20, 21, 480, 5001)] == [4, 4, 4, 5, 20, 20, 50, 500, 10000]


def test_line_dots_sit_at_their_values_and_link_their_period() -> None:
    figure = line_chart("t", ["a", "b", "c"], [Series("新增", [0, 5, 10], ["/o?1", "/o?2", "/o?3"])])
    dots = [s for s in figure.shapes if isinstance(s, Box) and s.round]
    assert [d.href for d in dots] == ["/o?1", "/o?2", "/o?3"]
    bottom, middle, top = (d.y + d.h / 2 for d in dots)
    assert bottom - middle == pytest.approx(middle - top)  # 0, 5, 10 evenly spaced on a 0..10 axis
    assert bottom - top == pytest.approx(260 - 44 - 28)  # 10 is the axis top: the plot's full height
    assert dots[0].x < dots[1].x < dots[2].x
    assert [d.title for d in dots] == ["a 新增 0", "b 新增 5", "c 新增 10"]


def test_many_periods_keep_their_labels_apart() -> None:
    labels = [f"{i:02d}" for i in range(30)]
    figure = line_chart("t", labels, [Series("x", [1] * 30)])
    shown = [s.x for s in figure.shapes if isinstance(s, Text) and s.text in labels]
    assert 4 <= len(shown) <= 9
    assert min(b - a for a, b in zip(shown, shown[1:], strict=False)) > 40


def test_bars_are_proportional_and_linked() -> None:
    figure = bar_chart("t", [Bar("维修报修", 12, "/o?c=repair"), Bar("环境卫生", 3, "/o?c=env")])
    bars = [s for s in figure.shapes if isinstance(s, Box)]
    assert bars[0].w == pytest.approx(4 * bars[1].w)
    assert [b.href for b in bars] == ["/o?c=repair", "/o?c=env"]


def test_svg_escapes_every_text_and_links_without_script() -> None:
    figure = bar_chart('<b>"x"', [Bar("<script>alert(1)</script>", 1, "/orders?a=1&b=2")])
    markup = to_svg(figure)
    assert "<script" not in markup
    assert "&lt;script&gt;" in markup
    assert '<a href="/orders?a=1&amp;b=2"><rect' in markup
    assert re.match(r'<svg [^>]*viewBox="0 0 640 \d+"', markup)


def test_png_is_drawn_at_twice_the_size_and_never_draws_boxes_for_missing_glyphs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    figure = line_chart("t", ["11-01", "11-02"], [Series("新增", [1, 2])])
    image = Image.open(io.BytesIO(png.to_png(figure)))
    assert image.format == "PNG"
    assert image.size == (1280, 520)
    monkeypatch.setattr(png, "find_font", lambda: ("/nowhere/DejaVuSans.ttf", False))
    assert png._drawable("新增 12 张") == "12"  # Latin font only: the Chinese is left to the caption
    assert png._drawable("11-02") == "11-02"
    monkeypatch.setattr(png, "find_font", lambda: ("/nowhere/Noto.ttc", True))
    assert png._drawable("新增 12 张") == "新增 12 张"
