"""How every dscourse widget shows itself: the live widget and its static figure together.

A widget's display bundle always holds ``text/plain`` (a short, deterministic summary) and
``image/png`` (the static matplotlib figure); in a live kernel it also holds the widget view.
A front end that runs widgets shows the widget; the HTML book, PDF export, CI and graders
(``DSCOURSE_STATIC=1`` or no kernel, see :func:`dscourse.notebook.static_mode`) get the
figure. The same set of comparable outputs in both modes keeps ``pytest --nbval`` stable.

Every static figure starts from :func:`new_figure`: a figure pyplot does not track, so it is
returned, not auto-shown, and a notebook displays it exactly once, as the cell's value.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..notebook import static_mode


def new_figure(figsize: tuple[float, float] | None = None, **kwargs: Any) -> Figure:
    """A new matplotlib figure (``figsize`` in inches, other keywords as ``plt.figure``) that
    pyplot no longer tracks: it never shows itself, never leaks, and is drawn only where it
    is returned or rendered. Add axes with ``fig.add_axes`` or ``fig.subplots``."""
    fig = plt.figure(figsize=figsize, **kwargs)
    plt.close(fig)
    return fig


def figure_png(fig: Figure, *, close: bool = True) -> bytes:
    """The figure as PNG bytes (80 dpi, no timestamps, so identical across runs)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    if close:
        plt.close(fig)
    return buf.getvalue()


def bundle(widget: Any, fig: Figure, text: str, static: bool | None = None) -> dict[str, Any]:
    """A display bundle: the text summary, the figure as PNG and, when live, the widget view."""
    out: dict[str, Any] = {}
    live = not (static_mode() if static is None else static)
    if live and widget is not None:
        view = widget._repr_mimebundle_()
        if isinstance(view, tuple):
            view = view[0]
        out.update(view or {})
    out["text/plain"] = text
    out["image/png"] = base64.b64encode(figure_png(fig)).decode("ascii")
    return out
