"""``history(...)``: a Porcupine-style picture of a checked history.

One panel per partition of the model (one key of a key-value store), one lane per client,
each operation a bar from its call to its return (an operation whose outcome is unknown
runs off the right edge, hatched). The checker's longest linearization is drawn as a line
through one linearization point per operation, numbered in order; in an illegal partition
the operation at which the search got stuck, the first illegal point, is red, and the
operations of the verdict's explanation (the partition's ``core``: operations that cannot be
linearized together) are outlined in thick dark red. This is the
picture Porcupine's HTML visualizer draws (Athalye, "Porcupine", 2017-) for Lowe's and
Wing & Gong's search.

``result`` may also be a session-guarantee or causal-consistency verdict
(:mod:`dscourse.checkers.session`, :mod:`dscourse.checkers.causal`): then one panel shows
every operation, those the violations name filled light red and outlined in dark red, and no
linearization line (these models have no single order to draw), with the verdict's first
violation as the title.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..checkers import linearizability as lin
from ..checkers.session import Verdict
from ..errors import allowed
from .display import new_figure

OK_FILL = "#a6d96a"
OTHER_FILL = "#d9d9d9"
STUCK_FILL = "#d62728"
CORE_EDGE = "#67001f"
CORE_FILL = "#f4a582"
UNKNOWN_FILL = "#fdd49e"
MAX_PANELS = 4


def _flat(op: lin.Operation) -> lin.Operation:
    """A Recorder writes ``put(key, value)`` as input ``("put", (key, value))``; the kv model
    wants ``("put", key, value)``."""
    inp = op.input
    if type(inp) is tuple and len(inp) == 2 and inp[0] in ("put", "append") and type(inp[1]) is tuple:
        return lin.Operation(op.client, op.call, op.ret, (inp[0], *inp[1]), op.output)
    return op


def _operations(source: Any) -> list[lin.Operation]:
    if hasattr(source, "operations") and callable(source.operations):
        source = source.operations()
    ops = list(source)
    for op in ops:
        if not isinstance(op, lin.Operation):
            raise allowed("history", op, "linearizability.Operation records, a Recorder or a "
                          "replication Cluster")
    return [_flat(op) for op in ops]


def _failed(source: Any) -> list[Any]:
    """``fail`` operations of a Recorder (or of a cluster's ``history``), for drawing."""
    rec = getattr(source, "history", source)
    if not hasattr(rec, "ops") or not callable(rec.ops):
        return []
    return [op for op in rec.ops() if op.status == "fail"]


def _key_of(op: Any) -> Any:
    value = op.input
    return value[0] if isinstance(value, tuple) and value else value


def infer_model(ops: Sequence[lin.Operation]) -> lin.Model:
    """``kv()`` for get/put/append inputs, ``cas_register()`` when there is a cas, else
    ``register()``."""
    kinds = {op.input[0] for op in ops if isinstance(op.input, tuple) and op.input}
    if kinds & {"get", "put", "append"}:
        return lin.kv()
    if "cas" in kinds:
        return lin.cas_register()
    return lin.register()


def verdict(result: lin.CheckResult, model: lin.Model | None = None) -> str:
    """One line: ``linearizable`` or where the search got stuck."""
    if result.outcome == "ok":
        n = sum(len(p.operations) for p in result.partitions)
        return f"linearizable ({n} operation{'' if n == 1 else 's'})"
    if result.outcome == "unknown":
        return "unknown: the checker's timeout cut the search short"
    bad = result.illegal_partitions()[0]
    render = (model.render if model is not None else lambda o: f"{o.input!r} -> {o.output!r}")
    if bad.stuck:
        op = bad.operations[bad.stuck[0]]
        n = len(bad.longest)
        return (f"NOT linearizable: after {n} operation{'' if n == 1 else 's'}, "
                f"{render(op)} by {op.client} cannot be placed")
    return "NOT linearizable"


def _points(ops: Sequence[lin.Operation], order: Sequence[int]) -> list[float]:
    """A linearization point per operation of ``order`` (each inside its interval)."""
    points, t = [], -math.inf
    for i in order:
        op = ops[i]
        t = max(t, op.call)
        if op.ret != math.inf:
            t = min(t, op.ret)
        points.append(t)
    return points


def short_label(model: lin.Model, op: lin.Operation) -> str:
    """A compact label for a bar: ``R:v`` (read/get), ``W:v`` (write/put), ``A:v`` (append),
    ``?`` for an unknown output; other inputs fall back to the model's description."""
    inp, out = op.input, op.output
    shown = "?" if out is lin.UNKNOWN else ("∅" if out in (None, "") else str(out))
    if isinstance(inp, tuple) and inp:
        if inp[0] in ("read", "get"):
            return f"R:{shown}"
        if inp[0] in ("write", "put", "append") and len(inp) >= 2:
            return f"{'A' if inp[0] == 'append' else 'W'}:{inp[-1]}"
        if inp[0] == "cas" and len(inp) == 2:
            return f"CAS {inp[1][0]}→{inp[1][1]}:{shown}"
    return model.render(op).replace("UNKNOWN", "?")


FAILED_EDGE = "#b2182b"


def _failed_bars(ax: Axes, failed: Sequence[Any], lane: dict[Any, int]) -> None:
    """Operations that certainly did not happen (``fail``): outlined, dashed, labelled."""
    for k, op in enumerate(failed):
        if op.process not in lane:
            continue
        y = lane[op.process]
        ax.add_patch(Rectangle((op.call, y - 0.3), max(op.ret - op.call, 1e-9), 0.6, facecolor="white",
                               edgecolor=FAILED_EDGE, linestyle="--", linewidth=0.9, gid=f"failed-{k}"))
        ax.text(op.call + (op.ret - op.call) / 2, y, f"{'R' if op.f in ('get', 'read') else 'W'}: fail",
                ha="center", va="center", fontsize=6.5, color=FAILED_EDGE, clip_on=True)


def _panel(ax: Axes, part: lin.PartitionResult, model: lin.Model, lanes: list[Any],
           t_max: float, title: str, failed: Sequence[Any] = (),
           label: Callable[[lin.Model, lin.Operation], str] = short_label) -> None:
    ops = part.operations
    lane = {c: k for k, c in enumerate(lanes)}
    rank = {i: k for k, i in enumerate(part.longest)}
    stuck = set(part.stuck)
    core = set(getattr(part, "core", ()))
    width = t_max * 1.06
    ms_per_char = width / 120          # about 120 label characters fit across the axes
    for i, op in enumerate(ops):
        y = lane[op.client]
        open_ended = op.ret == math.inf
        end = width if open_ended else op.ret
        if i in stuck:
            fill = STUCK_FILL
        elif i in rank:
            fill = OK_FILL
        elif i in core and not part.longest:
            fill = CORE_FILL          # a session/causal verdict: no linearization to colour by
        else:
            fill = UNKNOWN_FILL if op.output is lin.UNKNOWN else OTHER_FILL
        # an operation with an unknown outcome may take effect any time later: a thin
        # hatched strip under its lane, so that it does not hide the client's later bars
        top, height = (y + 0.12, 0.2) if open_ended else (y - 0.3, 0.6)
        edge, lw = (CORE_EDGE, 2.2) if i in core else ("#333333", 1.4) if i in stuck else ("#777777", 0.6)
        bar = Rectangle((op.call, top), max(end - op.call, t_max * 0.004), height, facecolor=fill,
                        edgecolor=edge, linewidth=lw, hatch="///" if open_ended else None,
                        gid=f"op-{i}")
        ax.add_patch(bar)
        text = label(model, op)
        number = str(rank[i] + 1) if i in rank else ""
        span = min(end, width) - op.call
        if open_ended or len(text) * ms_per_char > span:
            # does not fit inside: write it above the bar, after the linearization number
            number = f"{number} {text}".strip()
        else:
            ax.text(op.call + span / 2, y, text, ha="center", va="center", fontsize=6.5, clip_on=True,
                    color="white" if i in stuck else "black")
        if number:
            ax.text(op.call, y - 0.33, number, ha="left", va="bottom", fontsize=5.5, clip_on=True,
                    color=STUCK_FILL if i in stuck else "#1a9850" if i in rank else "#555555")
    _failed_bars(ax, failed, lane)
    if part.longest:
        xs = _points(ops, part.longest)
        ys = [lane[ops[i].client] for i in part.longest]
        ax.plot(xs, ys, color="#1a9850", linewidth=0.8, alpha=0.8, marker="o", markersize=2.5,
                gid="linearization", zorder=3)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_yticks(range(len(lanes)), [str(c) for c in lanes], fontsize=8)
    ax.set_xlim(0, width)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=8.5, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _t_max(ops: Sequence[Any], returns: Sequence[float] = ()) -> float:
    """The right end of the time axis: the last finite call or return (1 ms if none)."""
    finite = [op.ret for op in ops if op.ret != math.inf] + [op.call for op in ops] + list(returns)
    return max(finite, default=1.0) or 1.0


def draw_partition(ax: Axes, part: lin.PartitionResult, model: lin.Model, *, t_max: float | None = None,
                   lanes: Sequence[Any] | None = None, title: str = "", failed: Sequence[Any] = (),
                   label: Callable[[lin.Model, lin.Operation], str] = short_label) -> None:
    """Draw one partition's verdict into ``ax`` (for widgets that compose figures);
    ``failed``: ``dscourse.history.Op`` records of failed operations to outline too;
    ``label``: an operation's text on its bar."""
    ops = part.operations
    t_max = t_max if t_max is not None else _t_max(ops)
    lanes = list(lanes) if lanes is not None else sorted({op.client for op in ops}, key=str)
    _panel(ax, part, model, lanes, t_max, title, failed, label)


def _kv_key(op: lin.Operation) -> Any:
    """The key of a key-value operation (``get``/``put``/``append``), else None."""
    inp = op.input
    return inp[1] if isinstance(inp, tuple) and len(inp) > 1 and inp[0] in ("get", "put", "append") else None


def _keyed_label(model: lin.Model, op: lin.Operation) -> str:
    """:func:`short_label` after the key, for a panel that mixes keys: ``x W:a1``."""
    key = _kv_key(op)
    return short_label(model, op) if key is None else f"{key} {short_label(model, op)}"


def _verdict_figure(result: Verdict, model: lin.Model, title: str | None) -> Figure:
    ops = result.operations
    part = lin.PartitionResult("ok" if result.ok else "illegal", tuple(ops), (), (), result.core)
    lines = [ln.strip(" -") for ln in result.explain(limit=1).splitlines()]
    why = "\n".join(textwrap.wrap(lines[1], 125)) if len(lines) > 1 else ""
    fig = new_figure((7.5, max(len({op.client for op in ops}), 1) * 0.5 + 0.9 + 0.16 * why.count("\n")))
    fig.suptitle(title or lines[0], fontsize=9.5, x=0.02, ha="left",
                 color="#1a1a1a" if result.ok else "#b2182b")
    ax = fig.subplots()
    keys = {_kv_key(op) for op in ops} - {None}
    draw_partition(ax, part, model, label=_keyed_label if len(keys) > 1 else short_label)
    ax.set_title(why, fontsize=7, loc="left")
    ax.set_xlabel("virtual time (ms)", fontsize=8)
    fig.tight_layout()
    return fig


def history(source: Any, model: lin.Model | None = None, *, result: lin.CheckResult | Verdict | None = None,
            title: str | None = None, timeout: float | None = 10.0) -> Figure:
    """Draw a history and its linearizability verdict (see the module docstring).

    ``source``: a list of :class:`~dscourse.checkers.linearizability.Operation`, or anything
    with an ``operations()`` method (a ``dscourse.replication`` cluster, a ``Recorder``).
    ``model`` defaults to :func:`infer_model`; ``result`` to ``lin.check(ops, model)``, or a
    session/causal verdict on the same history (drawn as the module docstring says).
    Illegal partitions are drawn first, at most four panels. Returns the Figure.
    """
    if isinstance(result, Verdict):
        model = infer_model(list(result.operations)) if model is None else model
        return _verdict_figure(result, model, title)
    if result is not None and not isinstance(result, lin.CheckResult):
        raise allowed("result", result, "a linearizability CheckResult, a session or causal "
                      "verdict, or None")
    ops = _operations(source)
    failed = _failed(source)
    model = infer_model(ops) if model is None else model
    if not isinstance(model, lin.Model):
        raise allowed("model", model, "a linearizability.Model")
    if result is None:
        result = lin.check(ops, model, timeout=timeout)
    parts = sorted(result.partitions, key=lambda p: p.outcome != "illegal")[:MAX_PANELS]
    t_max = _t_max(ops, [op.ret for op in failed])
    keyed = model.partition is not None

    def failed_in(p: lin.PartitionResult) -> list[Any]:
        if not keyed:
            return failed
        keys = {op.input[1] for op in p.operations if len(op.input) > 1}
        return [f for f in failed if _key_of(f) in keys]

    lanes_of = [sorted({op.client for op in p.operations} | {f.process for f in failed_in(p)}, key=str)
                for p in parts]
    heights = [max(len(lanes), 1) * 0.5 + 0.45 for lanes in lanes_of] or [0.8]
    fig = new_figure((7.5, sum(heights) + 0.75))
    fig.suptitle(title or verdict(result, model), fontsize=9.5, x=0.02, ha="left",
                 color="#b2182b" if result.outcome == "illegal" else "#1a1a1a")
    if not parts:
        return fig
    axes = fig.subplots(len(parts), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, part, lanes in zip(axes, parts, lanes_of, strict=False):
        key = ""
        if part.operations and model.partition is not None and len(part.operations[0].input) > 1:
            key = f"key {part.operations[0].input[1]!r}: "
        label = {"ok": "linearizable", "illegal": "not linearizable", "unknown": "unknown"}[part.outcome]
        _panel(ax, part, model, lanes, t_max, f"{key}{label}", failed_in(part))
    axes[-1].set_xlabel("virtual time (ms)", fontsize=8)
    total = sum(heights) + 0.75
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / total), h_pad=0.6)
    return fig
