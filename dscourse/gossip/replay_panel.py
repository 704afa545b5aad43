"""Gossip's panel for the HTML trace player (``ds.viz.replay``): who is infected with which
update, at the player's cursor (the infection colouring of Demers et al., PODC 1987, §1).

Registered as the ``gossip`` entry point of ``dscourse.replay_panels`` (see
:mod:`dscourse.viz.replay_plugins`). A server becomes infected with value ``v`` when a message
carrying ``v`` is delivered to it: a client's ``broadcast`` (``message``) or a peer's ``gossip``
(``message`` or ``messages``), the Maelstrom broadcast workload's messages, which is exactly
when :meth:`dscourse.gossip.glomers.Flood.learn` and ``Batched.learn`` run. The grid has a row
per server and a column per value (the first ``MAX_VALUES`` values, in order of first
appearance); a filled cell is an infected server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from ..viz.replay_plugins import Panel

LABELS = ("gossip", "broadcast")
MAX_VALUES = 40


def _carried(e: Any) -> list[Any]:
    d = e.data
    if not isinstance(d, dict) or d.get("type") not in LABELS:
        return []
    if "messages" in d and d.get("type") == "gossip":
        return list(d["messages"])
    return [d["message"]] if "message" in d else []


def infections(events: Sequence[Any], start: int = 0, stop: int | None = None
               ) -> tuple[list[Any], dict[str, list[int]], list[list[Any]]]:
    """``(values, infected_before_start, changes)``: the values (first ``MAX_VALUES``), for each
    server the indexes of the values it knew before event ``start``, and ``[seq, server,
    value_index]`` for each first delivery in ``start .. stop - 1``."""
    stop = len(events) if stop is None else stop
    values: dict[str, int] = {}
    shown: list[Any] = []
    known: dict[str, set[int]] = {}
    init: dict[str, list[int]] | None = None
    changes: list[list[Any]] = []
    for seq, e in enumerate(events[:stop]):
        if seq == start:
            init = {n: sorted(v) for n, v in known.items()}
        if e.kind != "deliver":
            continue
        for v in _carried(e):
            key = json.dumps(v, sort_keys=True)
            if key not in values:
                if len(values) >= MAX_VALUES:
                    continue
                values[key] = len(values)
                shown.append(v)
            vi = values[key]
            mine = known.setdefault(e.node, set())
            if vi not in mine:
                mine.add(vi)
                if seq >= start:
                    changes.append([seq, e.node, vi])
    if init is None:
        init = {n: sorted(v) for n, v in known.items()}
    return shown, init, changes


def prepare(events: Sequence[Any], start: int, stop: int, nodes: list[str]) -> dict[str, Any]:
    """The panel's data: servers, values, infections at the window's start and the changes."""
    values, init, changes = infections(events, start, stop)
    servers = sorted({e.node for e in events[:stop] if e.kind == "deliver" and _carried(e)}, key=nodes.index)
    return {"servers": servers, "values": values, "init": init, "changes": changes,
            "capped": len(values) >= MAX_VALUES}


PANEL = Panel(
    name="gossip",
    title="Gossip: which server is infected with which update",
    script=files(__package__).joinpath("replay_panel.js").read_text(encoding="utf-8"),
    prepare=prepare,
    labels=LABELS,
    css=("[data-dscourse-player] .dsp-gossip td.dsp-g{width:9px;height:12px;padding:0;border:1px solid #e3e3e3}"
         "[data-dscourse-player] .dsp-gossip td.dsp-g-on{background:#d62728}"),
)
