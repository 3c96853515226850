"""The run-chart picture, held to the coordinates of known charts: a facilitator puts it on a
slide, so a point drawn at the wrong height, a median line off the median or a legend over the
dates is a wrong picture even when it is valid SVG.

The layout the picture promises: 800 px wide; the plot spans x 70–780 and y 50–310; values are
padded by a tenth of their range (target included) above and below; each point sits in the
middle of its slot; dates below the plot, rotated; one legend line per signal (at most five)
from y 390, 16 px apart, the picture as tall as its legend needs.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from services.cycles.domain import runchart

NS = "{http://www.w3.org/2000/svg}"
LEFT, RIGHT_EDGE, TOP, PLOT_BOTTOM = 70, 780, 50, 310


def picture(values, title="Persistence", unit="%", target=None, dates=None):
    points = [{"on": (dates or [f"2017-10-{i + 1:02d}" for i in range(len(values))])[i],
               "value": float(v)} for i, v in enumerate(values)]
    chart = runchart.analyse(points)
    return chart, ET.fromstring(runchart.svg(chart, title, unit, target))


def scale(values, target=None):
    """x of slot i and y of value v, as the layout above says."""
    span = [*values, *([target] if target is not None else [])]
    low, high = min(span), max(span)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad

    def x(i):
        return LEFT + (RIGHT_EDGE - LEFT) * (i + 0.5) / len(values)

    def y(v):
        return TOP + (PLOT_BOTTOM - TOP) * (1 - (v - low) / (high - low))
    return x, y, low, high


def lines(root):
    return [(float(e.get("x1")), float(e.get("y1")), float(e.get("x2")), float(e.get("y2")),
             e.get("stroke"), e.get("stroke-dasharray")) for e in root.iter(f"{NS}line")]


def texts(root):
    return [(t.text, t.get("x"), t.get("y"), t.get("fill"), t.get("transform"))
            for t in root.iter(f"{NS}text")]


def test_a_known_chart_is_drawn_where_its_values_are():
    values = [38, 41, 40, 43, 45]
    chart, root = picture(values, target=60)
    x, y, low, high = scale(values, 60)
    assert (low, high) == (35.8, 62.2)
    assert root.get("width") == "800" and root.get("height") == str(PLOT_BOTTOM + 80 + 16)
    assert root.get("viewBox") == f"0 0 800 {PLOT_BOTTOM + 96}"
    # The axes, the target (dotted, green) and the median (dashed) across the whole plot.
    assert lines(root) == [
        (70, 50, 70, 310, "#444", None),
        (70, 310, 780, 310, "#444", None),
        (70, round(y(60), 1), 780, round(y(60), 1), "#2a7", "2 4"),
        (70, round(y(41), 1), 780, round(y(41), 1), "#888", "8 5"),
    ]
    (polyline,) = root.iter(f"{NS}polyline")
    assert polyline.get("points") == " ".join(f"{x(i):.1f},{y(v):.1f}"
                                              for i, v in enumerate(values))
    circles = [(float(c.get("cx")), float(c.get("cy")), c.get("fill"), c.find(f"{NS}title").text)
               for c in root.iter(f"{NS}circle")]
    assert circles == [(round(x(i), 1), round(y(v), 1), "#1f4e9c", f"2017-10-0{i + 1}: {v}")
                       for i, v in enumerate(values)]
    drawn = texts(root)
    # Five ticks from the padded bottom to the padded top, right-aligned left of the axis.
    ticks = [t for t in drawn if t[1] == "62"]
    assert [(t[0], float(t[2])) for t in ticks] == [
        (f"{low + (high - low) * k / 4:.3g}", round(y(low + (high - low) * k / 4) + 4, 1))
        for k in range(5)]
    assert ("%", "16", "180.0", None, "rotate(-90 16 180.0)") in drawn
    assert ("target 60", "776", f"{y(60) - 4:.1f}", "#2a7", None) in drawn
    assert ("median 41", "74", f"{y(41) - 4:.1f}", "#666", None) in drawn
    dates = [t for t in drawn if t[4] and t[4].startswith("rotate(-45")]
    assert [(t[0], t[1], t[2], t[4]) for t in dates] == [
        (f"2017-10-0{i + 1}", f"{x(i):.1f}", "326", f"rotate(-45 {x(i):.1f} 326)")
        for i in range(5)]
    assert drawn[-1] == ("no signal: the variation looks random", "70", "390", "#444", None)
    assert chart["signals"] == []


def test_points_in_a_signal_are_red_and_the_legend_grows_below_the_dates():
    values = [38, 41, 40, 43, 45, 44, 52, 55, 54, 58, 57, 60]
    chart, root = picture(values)
    legend = [s["detail"] for s in chart["signals"]]
    # A shift below the median, one above, and so too few runs.
    assert [s["rule"] for s in chart["signals"]] == ["shift", "shift", "too_few_runs"]
    assert root.get("height") == str(PLOT_BOTTOM + 80 + 16 * 3)
    assert [t[:4] for t in texts(root)[-3:]] == [
        (legend[0], "70", "390", "#d33"), (legend[1], "70", "406", "#d33"),
        (legend[2], "70", "422", "#d33")]
    assert {c.get("fill") for c in root.iter(f"{NS}circle")} == {"#d33"}
    # No target: the scale is the values' own, and no dotted line.
    x, y, _, _ = scale(values)
    assert all(dash != "2 4" for *_, dash in lines(root))
    (polyline,) = root.iter(f"{NS}polyline")
    assert polyline.get("points").split()[0] == f"{x(0):.1f},{y(38):.1f}"


def test_only_the_points_of_a_signal_are_red():
    values = [10, 11, 10, 12, 11, 10, 80, 11]
    chart, root = picture(values)
    assert [s["rule"] for s in chart["signals"]] == ["astronomical_point"]
    fills = [c.get("fill") for c in root.iter(f"{NS}circle")]
    assert fills == ["#1f4e9c"] * 6 + ["#d33", "#1f4e9c"]


def test_at_most_five_signals_are_listed():
    chart = {"points": [{"on": "d", "value": 1.0}], "median": 1.0,
             "signals": [{"rule": "shift", "points": [], "detail": f"signal {k}"}
                         for k in range(7)]}
    root = ET.fromstring(runchart.svg(chart, "t", "%"))
    assert root.get("height") == str(PLOT_BOTTOM + 80 + 16 * 5)
    assert [t.text for t in root.iter(f"{NS}text")][-5:] == [f"signal {k}" for k in range(5)]


def test_a_long_series_labels_about_two_dozen_dates():
    for n in (24, 25, 47, 48, 60, 100):
        values = [k % 7 for k in range(n)]
        dates = [f"day {k}" for k in range(n)]
        _, root = picture(values, dates=dates)
        labelled = [t.text for t in root.iter(f"{NS}text")
                    if (t.get("transform") or "").startswith("rotate(-45")]
        step = 1 if n <= 24 else math.ceil(n / 24)
        assert labelled == [f"day {k}" for k in range(0, n, step)], n
        assert len(root.findall(f"{NS}circle")) == n


def test_flat_and_zero_series_still_have_a_scale():
    for values, (low, high) in (([5, 5, 5], (4.5, 5.5)), ([0, 0], (-1.0, 1.0)),
                                ([-4, -4], (-4.4, -3.6))):
        _, root = picture(values)
        x, y, expected_low, expected_high = scale(values)
        assert (expected_low, expected_high) == (low, high)
        (polyline,) = root.iter(f"{NS}polyline")
        assert polyline.get("points") == " ".join(f"{x(i):.1f},{y(v):.1f}"
                                                  for i, v in enumerate(values))
        assert {p.split(",")[1] for p in polyline.get("points").split()} == {"180.0"}
        ticks = [t.text for t in root.iter(f"{NS}text") if t.get("x") == "62"]
        assert ticks == [f"{low + (high - low) * k / 4:.3g}" for k in range(5)]


def test_an_empty_chart_says_so_in_the_middle_of_the_plot():
    _, root = picture([], title="Nothing yet")
    assert [(t.text, t.get("x"), t.get("y")) for t in root.iter(f"{NS}text")] == [
        ("Nothing yet", "70", "28"), ("No measurements yet", "70", "180.0")]
    assert root.get("height") == str(PLOT_BOTTOM + 96)
    assert root.find(f"{NS}title").text == "Nothing yet"


def test_text_is_escaped():
    _, root = picture([1, 2, 3], title="Grades <3-5> & more", unit="% <met>",
                      dates=["a<b", "c&d", "e"])
    drawn = [t.text for t in root.iter(f"{NS}text")]
    assert "Grades <3-5> & more" in drawn and "% <met>" in drawn
    assert "a<b" in drawn and "c&d" in drawn
