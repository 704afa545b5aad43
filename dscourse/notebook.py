"""Notebook conveniences: ``ds.setup(seed=...)`` at the top of every chapter.

It fixes matplotlib's look (compact PNGs, so executed notebooks stay small and identical
across runs) and records the chapter's seed, which widgets use as their default.
"""

from __future__ import annotations

import os

from .errors import allowed

_state = {"seed": 0}


def setup(seed: int = 0) -> None:
    """Prepare a chapter notebook: fix the figure style and make ``seed`` the default seed
    (topic builders and widgets use it when no seed is given; ``ds.sim.Simulation`` always
    takes its seed explicitly)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise allowed("seed", seed, "a non-negative int")
    _state["seed"] = seed
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a hard dependency
        return
    matplotlib.rcParams.update(
        {
            "figure.dpi": 80,
            "savefig.dpi": 80,
            "figure.figsize": (7.5, 3.5),
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "dscourse",
        }
    )


def default_seed(seed: int | None = None) -> int:
    """``seed`` if given, else the seed the notebook passed to :func:`setup` (0 if it never
    called it).

    Where a ``seed=None`` default is resolved: topic builders and widgets call
    ``default_seed(seed)`` and hand the result to ``ds.sim.Simulation``, which never looks
    the default up itself (``sim`` does not import this module).
    """
    return _state["seed"] if seed is None else seed


def static_mode() -> bool:
    """True where no live widget can render: ``DSCOURSE_STATIC=1`` or no IPython kernel."""
    if os.environ.get("DSCOURSE_STATIC", "") not in ("", "0"):
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or not hasattr(shell, "kernel")
