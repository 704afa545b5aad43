"""The HTML trace player: a recorded run replayed in the browser, with no kernel.

``ds.viz.replay(sim_or_trace, view="both")`` returns a :class:`Replay` whose notebook
representation is self-contained HTML (``text/html``): the player's JavaScript and CSS ship
inside the package (``viz/static``), the trace is embedded as compact JSON, and nothing is
fetched from the network. It renders the same in JupyterLab, Notebook 7, VS Code and the
built HTML book, so the published book stays interactive (the experience of RaftScope,
for every protocol, including the partitions, crashes and seeds RaftScope cannot show).

What it shows: the space-time diagram (lanes coloured by annotated role, message arrows,
drops, duplicates, crash and pause bands, partitions), the cluster view (role, term or
ballot, messages in flight, partition sides), each node's annotated state and pending
timers, and topic panels (:mod:`dscourse.viz.replay_plugins`). Controls: a time slider
(``<input type="range">`` over events), play/pause with speed, step back and forth; a click
on a message or event shows its payload and the acting node's annotated state then.

The output is deterministic text for the same trace (the element id is a hash of the
content), so notebooks holding it stay ``pytest --nbval`` clean. A page gains at most
``max_bytes`` per player: longer runs are cut to a window of events, and the player says so.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from ..errors import allowed
from ..sim.trace import KINDS
from .colors import CRASH, CUT, PARTITION, PAUSE, label_colors, role_color
from .replay_plugins import Panel, resolve
from .scene import US_PER_MS, events_of, node_order, partition_groups

VIEWS = ("spacetime", "cluster", "both")
DEFAULT_MAX_BYTES = 300_000
MARKER = "data-dscourse-player"


@cache
def _static(name: str) -> str:
    return files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _script_json(text: str) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>`` or ``<!--`` can end it early)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _source_parts(source: Any) -> tuple[list, int | None]:
    """The events and the seed of a simulation, a cluster (``.sim``), a trace or events."""
    sim = getattr(source, "sim", source)
    seed = getattr(sim, "seed", None)
    return events_of(sim), seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _fold_before(events: Sequence, start: int, nodes: list[str]) -> dict[str, Any]:
    """The player's generic state just before event ``start``: annotated fields, crashed and
    paused nodes, partition groups, one-way cuts, pending timers and messages in flight."""
    state: dict[str, dict[str, Any]] = {}
    down: dict[str, str] = {}
    groups: list[list[str]] = []
    cut: set[tuple[str, str]] = set()
    timers: dict[int, list[Any]] = {}
    flying: dict[int, list[Any]] = {}
    for e in events[:start]:
        k = e.kind
        if k == "annotate" and isinstance(e.data, dict):
            state.setdefault(e.node, {}).update(e.data)
        elif k in ("crash", "pause"):
            down[e.node] = k
        elif k in ("recover", "resume"):
            down.pop(e.node, None)
        elif k == "partition":
            groups = partition_groups(e.data)
        elif k == "cut":
            cut.add((e.node, e.peer))
        elif k == "heal":
            groups, cut = [], set()
        elif k == "timer_set":
            at = e.data.get("at") if isinstance(e.data, dict) else None
            timers[e.msg_id] = [e.node, e.label, e.time, at]
        elif k in ("timer_fire", "timer_cancel"):
            timers.pop(e.msg_id, None)
        elif k == "send":
            flying[e.msg_id] = [e.msg_id, e.node, e.peer, e.label, e.time, e.data, 1]
        elif k == "duplicate" and e.msg_id in flying:
            flying[e.msg_id][6] += 1
        elif k in ("deliver", "drop") and e.msg_id in flying:
            flying[e.msg_id][6] -= 1
            if flying[e.msg_id][6] <= 0:
                del flying[e.msg_id]
        if k == "crash":  # a crash cancels the node's timers
            timers = {h: t for h, t in timers.items() if t[0] != e.node}
    return {
        "state": {n: state[n] for n in nodes if n in state},
        "down": {n: down[n] for n in nodes if n in down},
        "groups": groups,
        "cut": sorted([a, b] for a, b in cut),
        "timers": [[h, *t] for h, t in sorted(timers.items())],
        "flying": [f for _, f in sorted(flying.items())],
    }


@dataclass(frozen=True)
class Window:
    """Which events a player holds: ``start .. stop - 1`` of ``total``."""

    start: int
    stop: int
    total: int

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == self.total


def _window_bounds(events: Sequence, window: tuple[float, float] | None) -> tuple[int, int]:
    if window is None:
        return 0, len(events)
    if (not isinstance(window, (tuple, list)) or len(window) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in window)
            or not 0 <= window[0] < window[1]):
        raise allowed("window", window, "None or (from_ms, to_ms) with 0 <= from_ms < to_ms")
    lo, hi = round(window[0] * US_PER_MS), round(window[1] * US_PER_MS)
    start = next((i for i, e in enumerate(events) if e.time >= lo), len(events))
    stop = next((i for i, e in enumerate(events) if e.time > hi), len(events))
    if start >= stop:
        end = events[-1].time / US_PER_MS if events else 0
        raise allowed("window", window, f"a range that holds events of this run (0-{end:g} ms)")
    return start, stop


class Replay:
    """A player for one recorded run (see the module docstring); build it with :func:`replay`.

    ``data`` is the embedded JSON model, ``html()`` the self-contained fragment a notebook
    shows, ``page()`` a whole standalone HTML page, ``nbytes`` the fragment's size.
    """

    def __init__(self, data: dict[str, Any], panels: list[Panel], note: str) -> None:
        self.data = data
        self.panels = panels
        self.note = note
        self._html: str | None = None

    @property
    def window(self) -> Window:
        w = self.data["window"]
        return Window(w["start"], w["stop"], w["total"])

    @property
    def id(self) -> str:
        """A deterministic element id: a hash of the embedded data."""
        return "dsp-" + hashlib.sha256(_json(self.data).encode("ascii")).hexdigest()[:12]

    def html(self) -> str:
        """The player as one HTML fragment: root ``div[data-dscourse-player]``, inline CSS and
        JavaScript (defined once per page), the trace as JSON, and a one-line mount call."""
        if self._html is None:
            pid = self.id
            css = _static("player.css") + "".join(p.css for p in self.panels)
            scripts = [_static("player.js")] + [p.script for p in self.panels]
            title = html.escape(self.data["title"] or "Trace player")
            self._html = (
                f'<div {MARKER}="1" class="dsp" id="{pid}" role="group" aria-label="{title}">'
                f"<style>{css}</style>"
                f'<noscript><p class="dsp-note">This trace player needs JavaScript; '
                f"the static figure beside it shows the same run.</p></noscript>"
                f'<p class="dsp-note dsp-pending">{html.escape(self.summary())}. The player loads when '
                f"its script runs (in Jupyter: trust the notebook or run the cell).</p>"
                + "".join(f"<script>{s}</script>" for s in scripts)
                + f'<script type="application/json" class="dsp-data">{_script_json(_json(self.data))}</script>'
                f'<script>DSCoursePlayer.mount(document.getElementById("{pid}"));</script>'
                "</div>"
            )
        return self._html

    def page(self, title: str | None = None) -> str:
        """A standalone HTML page holding only this player (for saving or testing)."""
        head = html.escape(title or self.data["title"] or "dscourse trace player")
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{head}</title>'
                f"</head><body>{self.html()}</body></html>")

    @property
    def nbytes(self) -> int:
        """Bytes the player adds to a page."""
        return len(self.html().encode("utf-8"))

    def summary(self) -> str:
        w = self.window
        d = self.data
        text = (f"Trace player: {len(d['nodes'])} nodes, {w.stop - w.start} events, "
                f"{d['t0'] / US_PER_MS:g}-{d['t1'] / US_PER_MS:g} ms")
        if d["seed"] is not None:
            text += f", seed {d['seed']}"
        if self.panels:
            text += f", panels: {', '.join(p.name for p in self.panels)}"
        return text + (f" ({self.note})" if self.note else "")

    def __repr__(self) -> str:
        return f"<Replay {self.summary()}>"

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html(), "text/plain": self.summary()}


def _encode(events: Sequence, start: int, stop: int, nodes: list[str]) -> dict[str, Any]:
    """Events ``start .. stop - 1`` as compact rows ``[time_us, kind, node, peer, id, label,
    data]`` (indexes into ``kinds``, ``nodes``, ``labels`` and the de-duplicated ``values``;
    -1 for none). A delivery's payload is the send's, so it is stored once."""
    node_ix = {n: i for i, n in enumerate(nodes)}
    labels: dict[str, int] = {}
    values: dict[str, int] = {}
    kind_ix = {k: i for i, k in enumerate(KINDS)}
    rows = []

    def ref(value: Any) -> int:
        if value is None:
            return -1
        key = _json(value)
        return values.setdefault(key, len(values))

    for e in events[start:stop]:
        label = -1 if e.label is None else labels.setdefault(e.label, len(labels))
        data = e.data
        if e.kind == "timer_set" and isinstance(data, dict):
            data = [data.get("at"), data.get("payload")]
        rows.append([e.time, kind_ix[e.kind], node_ix.get(e.node, -1), node_ix.get(e.peer, -1),
                     -1 if e.msg_id is None else e.msg_id, label, ref(data)])
    return {"kinds": list(KINDS), "labels": list(labels), "ev": rows,
            "values": [json.loads(v) for v in values]}


def _model(events: Sequence, start: int, stop: int, nodes: list[str], panels: list[Panel],
           view: str, title: str | None, seed: int | None, digest: str | None) -> dict[str, Any]:
    enc = _encode(events, start, stop, nodes)
    init = _fold_before(events, start, nodes)
    roles = {None, *(s.get("role") for s in init["state"].values())}
    for e in events[start:stop]:
        if e.kind == "annotate" and isinstance(e.data, dict) and "role" in e.data:
            roles.add(e.data["role"])
    shown = [r for r in roles if r is None or isinstance(r, str)]
    labels = enc["labels"] + [f[3] for f in init["flying"] if f[3] not in enc["labels"]]
    return {
        "v": 1,
        "title": title,
        "view": view,
        "seed": seed,
        "digest": digest,
        "nodes": nodes,
        "window": {"start": start, "stop": stop, "total": len(events)},
        "t0": events[start].time if start < stop else 0,
        "t1": events[stop - 1].time if start < stop else 0,
        "init": init,
        **enc,
        "colors": {
            "roles": {("" if r is None else r): role_color(r) for r in sorted(shown, key=lambda r: r or "")},
            "labels": label_colors(labels),
            "crash": CRASH, "pause": PAUSE, "partition": PARTITION, "cut": CUT,
        },
        "panels": [{"name": p.name, "title": p.title, "data": p.prepare(events, start, stop, nodes)}
                   for p in panels],
    }


def replay(source: Any, view: str = "both", *, panels: str | Panel | Iterable[str | Panel] | None = "auto",
           nodes: Iterable[str] | None = None, window: tuple[float, float] | None = None,
           max_bytes: int = DEFAULT_MAX_BYTES, title: str | None = None, seed: int | None = None) -> Replay:
    """A kernel-free HTML player of a recorded run (see the module docstring).

    ``source``: a simulation, a topic cluster (anything with ``.sim``), a
    :class:`~dscourse.sim.Trace` or a list of events. ``view``: ``"spacetime"``,
    ``"cluster"`` or ``"both"``. ``panels``: ``"auto"`` (installed topic panels with a message
    of their own in the trace: label and fields, see :mod:`.replay_plugins`), ``None``, or
    names / :class:`Panel` objects. ``nodes``: lane order (default: first appearance).
    ``window``: ``(from_ms, to_ms)`` to show part of a run.
    ``max_bytes``: the most the player may add to a page; a longer run is cut to the events
    that fit from the window's start, and the player says so. ``seed`` overrides the seed
    shown (default: the simulation's).
    """
    if view not in VIEWS:
        raise allowed("view", view, " or ".join(repr(v) for v in VIEWS))
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 50_000:
        raise allowed("max_bytes", max_bytes, "an int >= 50000")
    events, sim_seed = _source_parts(source)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise allowed("seed", seed, "None or a non-negative int")
    order = node_order(events, nodes)
    if not order:
        raise allowed("trace", source, "a run with at least one node")
    chosen = resolve(panels, ((e.label, e.data) for e in events if e.kind == "send" and e.label))
    start, stop = _window_bounds(events, window)
    digest = None
    trace = getattr(getattr(source, "sim", source), "trace", source)
    if hasattr(trace, "digest"):
        digest = trace.digest()[:16]
    shown_seed = seed if seed is not None else sim_seed

    def build(stop_: int, note: str) -> Replay:
        data = _model(events, start, stop_, order, chosen, view, title, shown_seed, digest)
        data["note"] = note
        return Replay(data, chosen, note)

    def note_for(stop_: int) -> str:
        if start == 0 and stop_ == len(events):
            return ""
        t_lo = events[start].time / US_PER_MS if start < len(events) else 0
        t_hi = events[stop_ - 1].time / US_PER_MS if stop_ > start else t_lo
        why = "" if stop_ == stop else f" to stay under {max_bytes // 1000} KB"
        return (f"showing events {start}-{stop_ - 1} of {len(events)} "
                f"({t_lo:g}-{t_hi:g} ms){why}; pass window=(from_ms, to_ms) for another part")

    player = build(stop, note_for(stop))
    if player.nbytes <= max_bytes:
        return player
    lo, hi = start + 1, stop - 1        # binary search: the longest prefix of the window that fits
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = build(mid, note_for(mid))
        if candidate.nbytes <= max_bytes:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise allowed("max_bytes", max_bytes, "a budget that holds at least one event of this run")
    return best
