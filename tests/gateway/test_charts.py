"""The server-drawn charts: well-formed SVG, mirrored on Arabic pages, Arabic-Indic
digits, and sane drawings of empty, single, huge, zero and negative data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gateway import charts
from gateway.charts import Chart, Series

SVG = "{http://www.w3.org/2000/svg}"


def _chart(*series: Series, labels: tuple[str, ...] = ("a", "b", "c")) -> Chart:
    return Chart(key="c1", title="Received", description="Cases received by agency",
                 labels=labels, series=series, label_heading="Agency")


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Received"
    assert root.find(f"{SVG}desc").text == "Cases received by agency"
    return root


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]


def _values(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "chart-value"]


DRAWINGS = [
    lambda c, lang: charts.bar_chart(c, lang),
    lambda c, lang: charts.bar_chart(c, lang, stacked=True),
    lambda c, lang: charts.hbar_chart(c, lang),
    lambda c, lang: charts.line_chart(c, lang),
]


@pytest.mark.parametrize("draw", DRAWINGS)
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_chart_is_well_formed_svg_with_title_and_description(draw, lang):
    chart = _chart(Series("2026", (3.0, 0.0, 12.0)), Series("2025", (1.0, 5.0, 2.0)))
    _parse(draw(chart, lang))


def test_arabic_pages_mirror_the_drawing():
    chart = _chart(Series("n", (1.0, 2.0, 3.0)))
    left_to_right = _bars(_parse(charts.bar_chart(chart, "en")))
    right_to_left = _bars(_parse(charts.bar_chart(chart, "ar")))
    for ltr, rtl in zip(left_to_right, right_to_left, strict=True):
        assert float(rtl.get("x")) == pytest.approx(
            charts.WIDTH - float(ltr.get("x")) - float(ltr.get("width")), abs=0.11)
    # The first label's bar is at the left in English, at the right in Arabic.
    assert float(left_to_right[0].get("x")) < charts.WIDTH / 2 < float(right_to_left[0].get("x"))


def test_arabic_pages_write_arabic_indic_digits():
    chart = _chart(Series("n", (1234.0, 5.0, 60.5)))
    root = _parse(charts.bar_chart(chart, "ar"))
    assert _values(root) == ["١٬٢٣٤", "٥", "٦٠٫٥"]
    assert not any(ch.isascii() and ch.isdigit() for ch in "".join(_values(root)))
    assert _values(_parse(charts.bar_chart(chart, "en"))) == ["1,234", "5", "60.5"]


@pytest.mark.parametrize("draw", DRAWINGS)
def test_no_data_draws_a_message_not_a_broken_chart(draw):
    root = _parse(draw(_chart(labels=()), "en"))
    assert not _bars(root)
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No data"]


def test_one_bar_fits_the_canvas():
    root = _parse(charts.bar_chart(_chart(Series("n", (7.0,)), labels=("only",)), "en"))
    (bar,) = _bars(root)
    assert 0 < float(bar.get("x")) < float(bar.get("x")) + float(bar.get("width")) <= charts.WIDTH
    assert _values(root) == ["7"]


def test_huge_values_stay_inside_the_canvas():
    root = _parse(charts.bar_chart(_chart(Series("n", (9e12, 1.0, 3e11))), "en"))
    height = float(root.get("height"))
    for bar in _bars(root):
        assert float(bar.get("y")) >= 0 and float(bar.get("y")) + float(bar.get("height")) <= height
    assert _values(root)[0] == "9,000,000,000,000"


def test_negative_and_zero_values_hang_from_the_zero_line():
    root = _parse(charts.bar_chart(_chart(Series("n", (-4.0, 0.0, 8.0))), "en"))
    negative, zero, positive = _bars(root)
    assert float(zero.get("height")) == 0
    zero_y = float(zero.get("y"))
    assert float(negative.get("y")) == pytest.approx(zero_y)  # starts at zero, goes down
    assert float(positive.get("y")) + float(positive.get("height")) == pytest.approx(zero_y)
    assert float(positive.get("height")) == pytest.approx(2 * float(negative.get("height")),
                                                         abs=0.2)


def test_stacked_bars_carry_the_total():
    chart = _chart(Series("x", (1.0, 2.0, 3.0)), Series("y", (4.0, 0.0, 1.0)))
    assert _values(_parse(charts.bar_chart(chart, "en", stacked=True))) == ["5", "2", "4"]


def test_series_differ_by_pattern_not_colour_alone():
    chart = _chart(Series("x", (1.0, 2.0, 3.0)), Series("y", (4.0, 0.0, 1.0)))
    root = _parse(charts.bar_chart(chart, "en"))
    patterns = list(root.iter(f"{SVG}pattern"))
    assert len(patterns) == 2
    first, second = (ET.tostring(p) for p in patterns)
    assert first.count(b"<") != second.count(b"<") or b"path" in second


def test_no_style_attribute_anywhere_for_the_content_security_policy():
    chart = _chart(Series("x", (1.0, 2.0, 3.0)), Series("y", (4.0, 0.0, 1.0)))
    for draw in DRAWINGS:
        for element in _parse(draw(chart, "ar")).iter():
            assert "style" not in element.attrib


def test_text_is_escaped():
    chart = Chart(key="k", title="<b>&", description="d", labels=("<script>",),
                  series=(Series("s&", (1.0,)),))
    root = ET.fromstring(str(charts.bar_chart(chart, "en")))
    assert root.find(f"{SVG}title").text == "<b>&"
    assert "<script>" not in str(charts.chart_table(chart, "en"))


def test_the_table_behind_the_chart_has_the_same_numbers_and_links():
    chart = Chart(key="k", title="T", description="d", labels=("a", "b"),
                  series=(Series("n", (1500.0, 2.0)),), label_heading="Agency",
                  links=("/x?a=1&b=2", None))
    table = ET.fromstring(str(charts.chart_table(chart, "ar")))
    cells = [td.text for td in table.iter("td")]
    assert cells == ["١٬٥٠٠", "٢"]
    assert table.find(".//a").get("href") == "/x?a=1&b=2"
    html = str(charts.figure(chart, charts.bar_chart(chart, "ar"), "ar", "الجدول"))
    assert "<details" in html and "<svg" in html


@pytest.mark.parametrize(("low", "high"), [(0, 0), (0, 1), (0, 7), (-3, 12), (0, 9e12),
                                           (-5, -1), (0.2, 0.9)])
def test_ticks_cover_the_range_in_round_steps(low, high):
    ticks = charts.nice_ticks(low, high)
    assert ticks[0] <= min(low, 0) and ticks[-1] >= max(high, 0)
    assert 0.0 in ticks
    assert 2 <= len(ticks) <= 12


def test_a_percentage_axis_reaches_a_hundred_even_when_every_value_is_zero():
    chart = _chart(Series("n", (0.0, 0.0, 0.0)))
    for drawing in (charts.bar_chart(chart, "en", at_least=100),
                    charts.hbar_chart(chart, "en", at_least=100)):
        ticks = [t.text for t in _parse(drawing).iter(f"{SVG}text")
                 if t.get("class") == "chart-tick"]
        assert ticks[0] == "0" and ticks[-1] == "100"
