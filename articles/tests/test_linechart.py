"""The SVG line chart as a pure function: well-formed, escaped, one line and one link per
point, ticks a reader can read, and a drawing that scales to any width."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from articles.linechart import (
    COLOURS,
    DASHES,
    NOT_XML,
    ChartPoint,
    Line,
    line_chart,
    nice_ticks,
    tick_label,
)

SVG = "{http://www.w3.org/2000/svg}"


def chart(lines, labels=None, **kwargs) -> ET.Element:
    labels = labels or [str(2000 + n) for n in range(len(lines[0].points))]
    options = {"title": "Matches per year", "description": "A chart.", "chart_id": "c", **kwargs}
    return ET.fromstring(line_chart(labels, lines, **options))


def line(label, values):
    return Line(
        label,
        [
            ChartPoint(v, f"/search/?q={label}&year={2000 + n}", f"{label} {n}: {v}")
            for n, v in enumerate(values)
        ],
    )


def test_one_polyline_per_series_and_one_link_per_point():
    svg = chart([line("oil", [1, 5, 0, 3]), line("gold", [0, 2, 2, 9])])

    assert len(svg.findall(f".//{SVG}polyline")) == 2
    links = svg.findall(f".//{SVG}a")
    assert [a.get("href") for a in links[:4]] == [
        f"/search/?q=oil&year={2000 + n}" for n in range(4)
    ]
    assert links[3].get("aria-label") == "oil 3: 3"


def test_points_rise_with_their_values_and_zero_sits_on_the_axis():
    svg = chart([line("oil", [0, 5, 10])])

    ys = [float(c.get("cy")) for c in svg.findall(f".//{SVG}a/{SVG}circle")][1::2]
    axis = svg.find(f".//{SVG}g[@class='line-chart__axis']/{SVG}line")
    assert ys[0] == float(axis.get("y1"))
    assert ys[0] > ys[1] > ys[2]
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2])


def test_the_chart_is_titled_described_and_scales_to_its_container():
    svg = chart([line("oil", [1, 2])], title="Oil & gold", description="<per> year")

    assert svg.find(f"{SVG}title").text == "Oil & gold"
    assert svg.find(f"{SVG}desc").text == "<per> year"
    assert svg.get("aria-labelledby") == "c-title c-desc"
    assert svg.get("viewBox").startswith("0 0 ") and svg.get("width") is None


def test_series_differ_by_colour_and_dash_and_the_legend_names_them():
    lines = [line(f"q{n}", [n, n + 1]) for n in range(len(COLOURS))]

    svg = chart(lines)

    strokes = [(p.get("stroke"), p.get("stroke-dasharray")) for p in svg.iter(f"{SVG}polyline")]
    assert len(set(strokes)) == len(COLOURS) == len(DASHES)
    legend = svg.find(f".//{SVG}g[@class='line-chart__legend']")
    assert [t.text for t in legend.iter(f"{SVG}text")] == [f"q{n}" for n in range(len(COLOURS))]


def test_a_single_period_is_drawn_in_the_middle():
    svg = chart([line("oil", [4])])

    assert len(svg.findall(f".//{SVG}a")) == 1


@given(
    labels=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4),
    href=st.text(max_size=40),
)
def test_any_label_or_link_is_escaped_into_well_formed_xml(labels: list[str], href: str):
    lines = [Line(label, [ChartPoint(1.0, href, label)]) for label in labels]

    svg = ET.fromstring(line_chart(["1987"], lines, title=labels[0], description="d", chart_id="c"))

    # What XML cannot hold at all (control characters) is dropped, and an attribute's line
    # breaks read as spaces (the form collapses whitespace anyway); the rest survives as typed.
    readable = [" ".join(NOT_XML.sub("", label).split()) for label in labels]
    named = [g.get("aria-label") for g in svg.iter(f"{SVG}g") if g.get("data-series")]
    assert [" ".join(n.split()) for n in named] == readable


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (23, [0, 5, 10, 15, 20, 25]),
        (1234, [0, 250, 500, 750, 1000, 1250]),
    ],
)
def test_ticks_are_round_numbers_reaching_the_peak(peak, ticks):
    assert nice_ticks(peak) == ticks


def test_tick_labels_read_as_numbers():
    assert [tick_label(v) for v in (0, 2.5, 1500, 0.25, 1000000.0)] == [
        "0",
        "2.5",
        "1,500",
        "0.25",
        "1,000,000",
    ]


def test_counts_get_whole_number_ticks():
    assert nice_ticks(1, whole=True) == [0, 1]
    assert nice_ticks(7, whole=True) == [0, 2, 4, 6, 8]
    svg = chart([line("oil", [0, 1, 1])])
    grid = svg.find(f".//{SVG}g[@class='line-chart__grid']")
    assert [t.text for t in grid.iter(f"{SVG}text")] == ["0", "1"]


def test_axis_labels_are_thinned_so_none_overlaps():
    labels = [f"Mon {2000 + n // 12}" for n in range(240)]

    svg = chart([line("oil", [1] * 240)], labels)

    axis = svg.find(f".//{SVG}g[@class='line-chart__axis']")
    xs = [float(t.get("x")) for t in axis.iter(f"{SVG}text")]
    assert 3 <= len(xs) <= 12
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) > 8 * 7.2
