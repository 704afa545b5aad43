"""Helpers shared by the chapter figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def finish(fig: Figure) -> Figure:
    """Tighten the layout and close the figure: it is returned, not auto-shown, so a
    notebook displays it exactly once, as the cell's value."""
    fig.tight_layout()
    plt.close(fig)
    return fig
