"""Workloads and trace replays shared by the kernel tests."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import dscourse as ds


class Chatter(ds.sim.Node):
    """Every ``period`` ms sends a numbered message to a random peer (its own rng), ``n_msgs``
    times (only to ``targets`` if given); replies to even-numbered messages."""

    def __init__(self, id: str, n_msgs: int = 6, period: float = 3.0,
                 targets: tuple[str, ...] | None = None) -> None:
        super().__init__(id)
        self.targets = targets
        self.n_msgs = n_msgs
        self.period = period
        self.sent = 0
        self.received: list[tuple[str, int]] = []
        self.handled: list[float] = []
        self.watch: int | None = None

    def on_start(self) -> None:
        self.stable["boots"] = self.stable.get("boots", 0) + 1
        self.set_timer(self.period, "tick")

    def on_timer(self, name: str, payload: Any) -> None:
        self.handled.append(self.now)
        if name == "watch":
            self.watch = None
            return
        peers = self.peers if self.targets is None else [p for p in self.peers if p in self.targets]
        if self.sent < self.n_msgs and peers:
            dst = peers[int(self.rng.integers(len(peers)))]
            self.send(dst, {"type": "Chat", "n": self.sent, "boot": self.stable["boots"]})
            self.sent += 1
            self.set_timer(self.period, "tick")

    def on_message(self, src: str, msg: Any) -> None:
        self.handled.append(self.now)
        self.received.append((src, msg["n"]))
        if self.watch is not None:  # a watchdog re-armed by every message: many cancels
            self.cancel_timer(self.watch)
        self.watch = self.set_timer(7.0, "watch")
        if msg["n"] % 2 == 0:
            self.send(src, {"type": "ChatReply", "n": msg["n"] + 1, "boot": 0})


def chatter_sim(seed: int, n: int = 3, network: ds.sim.Network | None = None,
                n_msgs: int = 6) -> ds.sim.Simulation:
    sim = ds.sim.Simulation(seed=seed, network=network or ds.sim.lossy())
    for i in range(n):
        sim.add_node(Chatter(f"n{i}", n_msgs=n_msgs))
    return sim


def replay_status(trace: ds.sim.Trace):
    """Yield ``(event, status)`` where status maps node -> "up"/"crashed"/"paused" and
    ``blocked`` is the set of cut directed links, both as they were *before* the event."""
    status: dict[str, str] = defaultdict(lambda: "up")
    blocked: set[tuple[str, str]] = set()
    for e in trace:
        yield e, dict(status), set(blocked)
        if e.kind == "crash":
            status[e.node] = "crashed"
        elif e.kind == "recover":
            status[e.node] = "up"
        elif e.kind == "pause":
            status[e.node] = "paused"
        elif e.kind == "resume":
            status[e.node] = "up"
        elif e.kind == "partition":
            groups = e.data
            where = {n: i for i, g in enumerate(groups) for n in g}
            cuts = {p for p in blocked if p in _cuts_of(trace, e.seq)}
            blocked = {(a, b) for a in where for b in where if where[a] != where[b]} | cuts
        elif e.kind == "cut":
            blocked.add((e.node, e.peer))
        elif e.kind == "heal":
            blocked = set()


def _cuts_of(trace: ds.sim.Trace, before: int) -> set[tuple[str, str]]:
    cuts: set[tuple[str, str]] = set()
    for e in trace.events[:before]:
        if e.kind == "cut":
            cuts.add((e.node, e.peer))
        elif e.kind == "heal":
            cuts = set()
    return cuts
