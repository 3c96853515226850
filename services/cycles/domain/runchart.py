"""Run charts and the standard run-chart rules (Perla, Provost & Murray, "The run chart: a
simple analytical tool for learning from variation in healthcare processes", BMJ Qual Saf
2011), as improvement networks use them.

- **Shift**: 6 or more consecutive points all above or all below the median. Points on the
  median neither break nor count toward a shift.
- **Trend**: 5 or more consecutive points all going up or all going down. A point equal to the
  one before it neither breaks nor counts toward a trend.
- **Runs**: a run is a series of points on one side of the median (points on it are skipped).
  Too few or too many runs for the number of useful points (not on the median) is a signal of
  non-random variation. The limits are the Swed–Eisenhart runs test,
  computed exactly for the numbers of points above and below (2.5% in each tail, which
  agrees with the published table to within one run) up to 100 useful points, and by its
  normal approximation (Wald–Wolfowitz) above, where the exact sums grow with every point
  and the two agree to within a run; the rule needs 10+ useful points.
- **Astronomical point**: a point obviously different from the rest. Made objective here as
  Tukey's far-out rule: beyond 3 interquartile ranges outside the quartiles (5+ points).

Plain Python and no I/O; ``svg`` draws the picture a facilitator puts on a slide.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction
from functools import lru_cache
from html import escape
from typing import Any

SHIFT_POINTS = 6
TREND_POINTS = 5
RUNS_MIN_USEFUL = 10
RUNS_ALPHA = Fraction(25, 1000)   # in each tail: 5% in all, as in Perla et al.'s table
# Up to this many useful points the runs limits are exact; above, the normal approximation.
RUNS_EXACT_MAX = 100
ASTRONOMICAL_IQR = 3
ASTRONOMICAL_MIN_POINTS = 5


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def shifts(values: list[float], centre: float) -> list[list[int]]:
    """Index lists of every shift: SHIFT_POINTS+ useful points on one side of the median."""
    found: list[list[int]] = []
    current: list[int] = []
    side = 0
    for i, value in enumerate(values):
        s = (value > centre) - (value < centre)
        if s == 0:
            continue
        if s != side:
            if len(current) >= SHIFT_POINTS:
                found.append(current)
            current, side = [], s
        current.append(i)
    if len(current) >= SHIFT_POINTS:
        found.append(current)
    return found


def trends(values: list[float]) -> list[list[int]]:
    """Index lists of every trend: TREND_POINTS+ points each higher (or each lower) than the
    last point that differed from it; repeated values are skipped."""
    found: list[list[int]] = []
    current: list[int] = []
    direction = 0
    for i, value in enumerate(values):
        if not current:
            current = [i]
            continue
        step = (value > values[current[-1]]) - (value < values[current[-1]])
        if step == 0:
            continue
        if step != direction and len(current) > 1:
            if len(current) >= TREND_POINTS:
                found.append(current)
            current = [current[-1]]
        direction = step
        current.append(i)
    if len(current) >= TREND_POINTS:
        found.append(current)
    return found


def runs(values: list[float], centre: float) -> tuple[int, int, int]:
    """(number of runs, useful points above, useful points below)."""
    sides = [(v > centre) - (v < centre) for v in values]
    useful = [s for s in sides if s != 0]
    count = sum(1 for i, s in enumerate(useful) if i == 0 or s != useful[i - 1])
    return count, useful.count(1), useful.count(-1)


@lru_cache(maxsize=4096)
def runs_limits(above: int, below: int) -> tuple[int, int] | None:
    """(fewest, most) runs that are not a signal for these counts, or None when there are too
    few useful points to judge."""
    if above + below < RUNS_MIN_USEFUL or above == 0 or below == 0:
        return None
    if above + below > RUNS_EXACT_MAX:
        return runs_limits_approximate(above, below)
    p = runs_distribution(above, below)
    low, cumulative = min(p), Fraction(0)
    for r in sorted(p):
        cumulative += p[r]
        if cumulative > RUNS_ALPHA:
            low = r
            break
    high, cumulative = max(p), Fraction(0)
    for r in sorted(p, reverse=True):
        cumulative += p[r]
        if cumulative > RUNS_ALPHA:
            high = r
            break
    return low, high


def runs_limits_approximate(n1: int, n2: int) -> tuple[int, int]:
    """The runs limits by the normal approximation of the runs distribution, with a
    continuity correction: constant work however many points."""
    n = n1 + n2
    mean = 1 + 2 * n1 * n2 / n
    sd = math.sqrt(2 * n1 * n2 * (2 * n1 * n2 - n) / (n * n * (n - 1)))
    z = statistics.NormalDist().inv_cdf(1 - float(RUNS_ALPHA))
    # Above RUNS_EXACT_MAX points the lower limit is 3 or more (the mean is nearly 3 even with
    # one point on a side); the upper one stops at the most runs that can happen.
    low = math.floor(mean - 0.5 - z * sd) + 1
    high = math.ceil(mean + 0.5 + z * sd) - 1
    return low, min(high, 2 * min(n1, n2) + (n1 != n2))


def runs_distribution(n1: int, n2: int) -> dict[int, Fraction]:
    """Exact probability of each number of runs in a random order of n1 + n2 points."""
    total = math.comb(n1 + n2, n1)
    p: dict[int, Fraction] = {}
    for r in range(2, n1 + n2 + 1):
        k, odd = divmod(r, 2)
        if not odd:
            ways = 2 * math.comb(n1 - 1, k - 1) * math.comb(n2 - 1, k - 1)
        else:
            ways = (math.comb(n1 - 1, k) * math.comb(n2 - 1, k - 1)
                    + math.comb(n1 - 1, k - 1) * math.comb(n2 - 1, k))
        if ways:
            p[r] = Fraction(ways, total)
    return p


def astronomical(values: list[float]) -> list[int]:
    if len(values) < ASTRONOMICAL_MIN_POINTS:
        return []
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    spread = q3 - q1
    if spread == 0:
        return []
    low, high = q1 - ASTRONOMICAL_IQR * spread, q3 + ASTRONOMICAL_IQR * spread
    return [i for i, v in enumerate(values) if v < low or v > high]


def analyse(points: list[dict[str, Any]]) -> dict[str, Any]:
    """A run chart of ``points`` (each with ``on`` and ``value``, in time order)."""
    values = [float(p["value"]) for p in points]
    centre = median(values)
    signals: list[dict[str, Any]] = []
    result: dict[str, Any] = {"points": points, "median": centre, "signals": signals,
                              "runs": None}
    if centre is None:
        return result
    for indexes in shifts(values, centre):
        side = "above" if values[indexes[0]] > centre else "below"
        signals.append({"rule": "shift", "points": indexes,
                        "detail": f"{len(indexes)} points in a row {side} the median"})
    for indexes in trends(values):
        way = "up" if values[indexes[-1]] > values[indexes[0]] else "down"
        signals.append({"rule": "trend", "points": indexes,
                        "detail": f"{len(indexes)} points in a row going {way}"})
    count, above, below = runs(values, centre)
    limits = runs_limits(above, below)
    result["runs"] = {"count": count, "useful_points": above + below,
                      "limits": list(limits) if limits else None}
    if limits and count < limits[0]:
        signals.append({"rule": "too_few_runs", "points": [],
                        "detail": f"{count} runs; fewer than {limits[0]} is unlikely by chance"})
    if limits and count > limits[1]:
        signals.append({"rule": "too_many_runs", "points": [],
                        "detail": f"{count} runs; more than {limits[1]} is unlikely by chance"})
    for i in astronomical(values):
        signals.append({"rule": "astronomical_point", "points": [i],
                        "detail": f"point {i + 1} ({values[i]:g}) is far outside the others"})
    return result


def svg(chart: dict[str, Any], title: str, unit: str, target: float | None = None) -> str:
    """The run chart as a self-contained SVG: points joined in time order, the median dashed,
    the target dotted, points in a signal highlighted, and a legend of the signals."""
    points, centre = chart["points"], chart["median"]
    legend = ([s["detail"] for s in chart["signals"]][:5]
              or ["no signal: the variation looks random"])
    # The plot, then the dates (rotated, about 50 px), then one line per signal.
    width, left, right, top, plot_bottom = 800, 70, 20, 50, 310
    height = plot_bottom + 80 + 16 * len(legend)
    bottom = height - plot_bottom
    values = [float(p["value"]) for p in points]
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
             f'font-size="12">',
             f'<title>{escape(title)}</title>',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="28" font-size="18" font-weight="bold">{escape(title)}</text>']
    plot_w, plot_h = width - left - right, height - top - bottom
    if not values:
        lines.append(f'<text x="{left}" y="{top + plot_h / 2}">No measurements yet</text>')
        return "\n".join(lines + ["</svg>"])
    span = values + ([target] if target is not None else [])
    low, high = min(span), max(span)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / len(values))

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    lines.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" '
                 f'stroke="#444"/>')
    lines.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
                 f'y2="{top + plot_h}" stroke="#444"/>')
    for k in range(5):
        v = low + (high - low) * k / 4
        lines.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">'
                     f'{v:.3g}</text>')
    lines.append(f'<text x="16" y="{top + plot_h / 2}" transform="rotate(-90 16 '
                 f'{top + plot_h / 2})" text-anchor="middle">{escape(unit)}</text>')
    if target is not None:
        lines.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + plot_w}" '
                     f'y2="{y(target):.1f}" stroke="#2a7" stroke-dasharray="2 4"/>'
                     f'<text x="{left + plot_w - 4}" y="{y(target) - 4:.1f}" '
                     f'text-anchor="end" fill="#2a7">target {target:g}</text>')
    lines.append(f'<line x1="{left}" y1="{y(centre):.1f}" x2="{left + plot_w}" '
                 f'y2="{y(centre):.1f}" stroke="#888" stroke-dasharray="8 5"/>'
                 f'<text x="{left + 4}" y="{y(centre) - 4:.1f}" fill="#666">median '
                 f'{centre:g}</text>')
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    lines.append(f'<polyline points="{path}" fill="none" stroke="#1f4e9c" stroke-width="2"/>')
    flagged = {i for s in chart["signals"] for i in s["points"]}
    for i, (point, v) in enumerate(zip(points, values, strict=True)):
        colour = "#d33" if i in flagged else "#1f4e9c"
        lines.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="5" fill="{colour}">'
                     f'<title>{escape(str(point.get("on", "")))}: {v:g}</title></circle>')
        if len(values) <= 24 or i % math.ceil(len(values) / 24) == 0:
            lines.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="end" '
                         f'transform="rotate(-45 {x(i):.1f} {top + plot_h + 16})">'
                         f'{escape(str(point.get("on", "")))}</text>')
    for k, text in enumerate(legend):
        lines.append(f'<text x="{left}" y="{plot_bottom + 80 + 16 * k}" '
                     f'fill="{"#d33" if chart["signals"] else "#444"}">{escape(text)}</text>')
    return "\n".join(lines + ["</svg>"])
