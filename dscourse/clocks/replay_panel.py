"""The lease panel of the HTML trace player (``ds.viz.replay``): who believes it holds the
lease, against when the lease is valid (Gray and Cheriton, SOSP 1989, §2).

Registered as the ``lease`` entry point of ``dscourse.replay_panels`` (see
:mod:`dscourse.viz.replay_plugins`). Validity is the server's view: a ``Grant`` sent at
server time ``t`` is valid until ``t + term_ms`` (the server is the reference clock). Belief is
the holder's view: from its ``annotate(use="start")`` to its ``annotate(use="stop")``. A bar of
belief outside its own grant's validity, or two holders believing at once, is the bug leases
under clock drift invite; the panel draws both up to the player's cursor and marks overlaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from ..viz.replay_plugins import Panel

LABELS = ("Grant",)


def intervals(events: Sequence[Any], stop: int | None = None) -> dict[str, list[list[Any]]]:
    """``{"valid": [[holder, from_us, to_us, seq]], "believed": [[holder, from_us, to_us|None,
    seq]]}`` for events ``0 .. stop - 1`` (``seq``: the event that opened the interval)."""
    stop = len(events) if stop is None else stop
    valid: list[list[Any]] = []
    believed: list[list[Any]] = []
    open_: dict[str, list[Any]] = {}
    for seq, e in enumerate(events[:stop]):
        d = e.data
        if e.kind == "send" and e.label == "Grant" and isinstance(d, dict):
            valid.append([d["holder"], e.time, e.time + round(d["term_ms"] * 1000), seq])
        elif e.kind == "annotate" and isinstance(d, dict) and d.get("use") in ("start", "stop"):
            if d["use"] == "start":
                open_[e.node] = [e.node, e.time, None, seq]
                believed.append(open_[e.node])
            elif e.node in open_:
                open_.pop(e.node)[2] = e.time
    return {"valid": valid, "believed": believed}


def prepare(events: Sequence[Any], start: int, stop: int, nodes: list[str]) -> dict[str, Any]:
    """The panel's data: holders and their intervals (the JavaScript clips them at the cursor)."""
    data = intervals(events, stop)
    holders = sorted({v[0] for v in data["valid"]} | {b[0] for b in data["believed"]},
                     key=lambda n: nodes.index(n) if n in nodes else len(nodes))
    t0 = events[start].time if start < stop else 0
    t1 = events[stop - 1].time if start < stop else 0
    return {"holders": holders, "t0": t0, "t1": t1, **data}


PANEL = Panel(
    name="lease",
    title="Lease: believed ownership (holder's clock) vs lease validity (server's clock)",
    script=files(__package__).joinpath("replay_panel.js").read_text(encoding="utf-8"),
    prepare=prepare,
    labels=LABELS,
)
