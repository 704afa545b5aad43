"""Chapter 1's labs: the Two Generals adversary and the timeout-versus-false-suspicion lab.

``ds.fundamentals.labs`` is loaded on first use (it is the only part of the package that draws).

* :func:`adversary_lab` -- pick *k*, see the single lost messenger that breaks agreement
  (:func:`dscourse.fundamentals.two_generals.adversary`); :func:`adversary_figure` is its
  static figure, the space-time diagram of that run.
* :func:`timeout_lab` -- a timeout slider over the heavy-tailed network of
  :mod:`dscourse.fundamentals.heartbeat`; :func:`timeout_figure` draws one run
  (:func:`plot_run`) above the timeout sweep (:func:`plot_sweep`).

Chapter 1's network playground is generic (it knows only ``ds.sim``): ``ds.viz.playground``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from matplotlib.figure import Figure

from ..viz import Lab, spacetime
from ..viz.display import new_figure
from .heartbeat import FDRun, SweepRow, measure, sweep
from .two_generals import adversary

# ---- Two Generals ------------------------------------------------------------------------------


def adversary_figure(k: int = 2, seed: int = 1) -> Figure:
    """Space-time diagram of protocol *k* with the adversary's critical loss (static figure)."""
    r = adversary(k, seed)
    run = r.single_losses[r.critical] if r.critical is not None else r.baseline
    verdict = ", ".join(f"{g}: {d}" for g, d in run.decisions.items())
    return spacetime(run.trace, title=f"k = {k}: messenger m{r.critical} lost → {verdict}")


def adversary_summary(k: int, seed: int = 1) -> str:
    """One line: the critical messenger of protocol *k* and what losing it, or an earlier one, gives."""
    r = adversary(k, seed)
    if r.critical is None:
        return f"k={k}: no single loss breaks agreement"
    earlier = sorted({tuple(map(str, o.decisions.values())) for o in r.single_losses[:r.critical]})
    return (f"k={k}: {r.messengers} messengers; losing m{r.critical} gives "
            f"{r.single_losses[r.critical].decisions}; losing an earlier one gives "
            f"{' or '.join('/'.join(d) for d in earlier) or 'nothing to lose'}")


def adversary_lab(k: int = 2, seed: int = 1) -> Lab:
    """The "Two Generals adversary" lab: pick *k*, see the loss that breaks agreement."""
    return Lab(lambda k: adversary_figure(k, seed), k=(0, 6, 1), initial={"k": k},
               describe=lambda k: adversary_summary(k, seed), title="Two Generals adversary")


# ---- timeout vs false suspicion ----------------------------------------------------------------

DEFAULT_TIMEOUTS = (12, 15, 20, 25, 30, 40, 50, 70, 100, 150, 200)


@lru_cache(maxsize=4)
def _default_sweep(seed: int) -> tuple[SweepRow, ...]:
    return tuple(sweep(DEFAULT_TIMEOUTS, seeds=(seed, seed + 1, seed + 2)))


def plot_run(run: FDRun, ax: Any = None) -> Figure:
    """Heartbeat delays over time, the timeout, the suspicions (red), GST and the crash."""
    if ax is None:
        ax = new_figure((7.5, 2.6)).subplots()
    xs = [t for t, _ in run.delays]
    ys = [d for _, d in run.delays]
    ax.scatter(xs, ys, s=4, color="#1f77b4", label="heartbeat delay", zorder=2)
    ax.axhline(run.timeout_ms, color="#555555", linestyle="--", linewidth=1, label=f"timeout {run.timeout_ms:g} ms")
    since = None
    for t, s in (*run.changes, (run.end_ms, False)):
        if s and since is None:
            since = t
        elif not s and since is not None:
            ax.axvspan(since, t, color="#d62728", alpha=0.35, linewidth=0, zorder=1)
            since = None
    ax.plot([], [], color="#d62728", alpha=0.5, linewidth=6, label="p suspected")
    ax.set_yscale("log")
    top = ax.get_ylim()[1]
    if run.gst_ms is not None:
        ax.axvline(run.gst_ms, color="#2ca02c", linewidth=1.5)
        ax.text(run.gst_ms, top, " GST", color="#2ca02c", va="top", fontsize=8)
    if run.crash_ms is not None:
        ax.axvline(run.crash_ms, color="#d62728", linewidth=1.5)
        ax.text(run.crash_ms, top, " p crashes", color="#d62728", va="top", fontsize=8)
    ax.set_xlim(0, run.end_ms)
    ax.set_xlabel("virtual time (ms)")
    ax.set_ylabel("delay (ms)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return ax.figure


def plot_sweep(rows: Sequence[SweepRow], *, mark: float | None = None, axes: Any = None) -> Figure:
    """False suspicions (before and after GST) and detection latency against the timeout."""
    if axes is None:
        fig = new_figure((7.5, 2.4))
        axes = fig.subplots(1, 2)
        fig.subplots_adjust(wspace=0.35, bottom=0.22)
    left, right = axes
    xs = [r.timeout_ms for r in rows]
    left.plot(xs, [r.false_before_gst for r in rows], marker="o", markersize=3, label="before GST")
    left.plot(xs, [r.false_after_gst for r in rows], marker="s", markersize=3, color="#2ca02c", label="after GST")
    left.set_xlabel("timeout (ms)")
    left.set_title("false suspicions per run", fontsize=9)
    left.legend(fontsize=7, frameon=False)
    right.plot(xs, [r.detection_ms for r in rows], marker="o", markersize=3, color="#d62728")
    right.set_xlabel("timeout (ms)")
    right.set_title("detection latency (ms)", fontsize=9)
    if mark is not None:
        for ax in axes:
            ax.axvline(mark, color="#555555", linestyle=":", linewidth=1)
    return left.figure


def timeout_figure(timeout_ms: float = 30.0, seed: int = 1) -> Figure:
    """The lab's static figure: one run at ``timeout_ms`` above the timeout sweep."""
    fig = new_figure((7.5, 4.6))
    top = fig.add_axes((0.09, 0.6, 0.68, 0.34))
    left = fig.add_axes((0.09, 0.1, 0.36, 0.34))
    right = fig.add_axes((0.56, 0.1, 0.36, 0.34))
    plot_run(measure(timeout_ms, seed=seed), ax=top)
    plot_sweep(_default_sweep(seed), mark=timeout_ms, axes=(left, right))
    return fig


def timeout_summary(timeout_ms: float, seed: int = 1) -> str:
    """One line about a run at ``timeout_ms``."""
    run = measure(timeout_ms, seed=seed)
    detected = "not detected" if run.detection_ms is None else f"detected after {run.detection_ms:g} ms"
    return (f"timeout {timeout_ms:g} ms: {run.false_suspicions()} false suspicions "
            f"({run.false_after_gst} after GST); crash {detected}")


def timeout_lab(timeout_ms: float = 30, seed: int = 1) -> Lab:
    """The "timeout vs false suspicion" lab: a timeout slider over the heavy-tailed network."""
    return Lab(lambda timeout_ms: timeout_figure(timeout_ms, seed), timeout_ms=(10, 200, 5),
               initial={"timeout_ms": timeout_ms}, describe=lambda timeout_ms: timeout_summary(timeout_ms, seed),
               title="Timeout vs false suspicion")


__all__ = ["DEFAULT_TIMEOUTS", "adversary_figure", "adversary_lab", "adversary_summary", "plot_run",
           "plot_sweep", "timeout_figure", "timeout_lab", "timeout_summary"]
