"""The shared figure helper: every static figure starts from ``viz.display.new_figure``."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import matplotlib.pyplot as plt
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

import dscourse
from dscourse.viz.display import figure_png, new_figure


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@settings(max_examples=25, deadline=None)
@given(w=st.floats(1.0, 9.0), h=st.floats(1.0, 6.0))
def test_new_figure_is_untracked_sized_and_renders_at_80_dpi(w, h):
    before = plt.get_fignums()
    fig = new_figure((w, h))
    assert isinstance(fig, Figure) and plt.get_fignums() == before      # pyplot never sees it
    assert tuple(fig.get_size_inches()) == (w, h)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [2, 0, 1])
    width, height = _png_size(figure_png(fig))
    assert abs(width - 80 * w) <= 1 and abs(height - 80 * h) <= 1
    assert plt.get_fignums() == before


def test_new_figure_passes_keywords_and_draws_the_same_as_pyplot():
    fig = new_figure((3, 2), facecolor="#123456")
    assert fig.get_facecolor()[:3] == (0x12 / 255, 0x34 / 255, 0x56 / 255)
    ref = plt.figure(figsize=(3, 2), facecolor="#123456")
    for f in (fig, ref):
        f.subplots().bar([1, 2, 3], [3, 1, 2])
    try:
        assert figure_png(fig) == figure_png(ref, close=False)             # byte-identical picture
    finally:
        plt.close(ref)


def test_no_module_creates_or_closes_pyplot_figures_by_hand():
    root = Path(dscourse.__file__).parent
    by_hand = re.compile(r"plt\.(figure|subplots|close)\(")
    offenders = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py"))
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if by_hand.search(line) and p.name != "display.py"]
    assert offenders == []
