"""The network playground (Chapter 1): set the network, send pings, cut the cluster, watch.

A :class:`Playground` is a :class:`~dscourse.viz.Player` over ``n`` :class:`Pinger` nodes.
Its controls are actions with arguments, so every change is logged and replayed like the
Player's own steps: ``network(latency_ms, jitter_ms, drop, duplicate, fifo)``,
``ping(src, dst)``, ``broadcast(src)``, ``partition(group)`` (the chosen nodes against the
rest), ``heal``, ``crash(node)``, ``recover(node)``. The status line counts sent, delivered,
dropped and duplicated messages (``trace.stats()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation, Uniform
from ..sim.network import Network
from .player import Player


@dataclass(frozen=True)
class Ping:
    """A request that the receiver answers with :class:`Pong`."""

    n: int


@dataclass(frozen=True)
class Pong:
    """The answer to ``Ping(n)``."""

    n: int


@dataclass(frozen=True)
class Broadcast:
    """A one-way announcement (no answer)."""

    n: int


class Pinger(Node):
    """Answers every Ping with a Pong; counts what it received."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.received: list[tuple[str, str, int]] = []
        self.counter = 0

    def on_message(self, src: str, msg: Any) -> None:
        self.received.append((src, type(msg).__name__, msg.n))
        if isinstance(msg, Ping):
            self.send(src, Pong(msg.n))

    def next_n(self) -> int:
        self.counter += 1
        return self.counter


def _network(latency_ms: float, jitter_ms: float, drop: float, duplicate: float, fifo: bool) -> Network:
    if not 0 <= jitter_ms <= latency_ms:
        raise allowed("jitter_ms", jitter_ms, f"between 0 and latency_ms={latency_ms}")
    latency = Uniform(latency_ms - jitter_ms, latency_ms + jitter_ms) if jitter_ms else latency_ms
    return Network(latency=latency, drop=drop, duplicate=duplicate, fifo=fifo)


def _set_network(sim: Simulation, latency_ms: float, jitter_ms: float, drop: float, duplicate: float,
                 fifo: bool) -> None:
    model = _network(latency_ms, jitter_ms, drop, duplicate, fifo).link_model()
    for a in sim.nodes:
        for b in sim.nodes:
            if a != b:
                sim.set_link(a, b, latency=model.latency, drop=model.drop, duplicate=model.duplicate,
                             fifo=model.fifo)


def _pinger(sim: Simulation, node_id: str) -> Pinger:
    node = sim.nodes[node_id]
    assert isinstance(node, Pinger)
    return node


def _ping(sim: Simulation, src: str, dst: str) -> None:
    node = _pinger(sim, src)
    if sim.status(src) == "up" and src != dst:
        node.send(dst, Ping(node.next_n()))


def _broadcast(sim: Simulation, src: str) -> None:
    node = _pinger(sim, src)
    if sim.status(src) == "up":
        node.broadcast(Broadcast(node.next_n()))


def _partition(sim: Simulation, group: list[str]) -> None:
    if group and len(group) < len(sim.nodes):
        sim.partition(list(group))


def _crash(sim: Simulation, node: str) -> None:
    if sim.status(node) != "crashed":
        sim.crash(node)


def _recover(sim: Simulation, node: str) -> None:
    if sim.status(node) == "crashed":
        sim.recover(node)


class Playground(Player):
    """The Chapter 1 network playground (see module docstring)."""

    def __init__(self, n: int = 4, *, seed: int | None = None, latency_ms: float = 3.0, jitter_ms: float = 2.0,
                 drop: float = 0.1, duplicate: float = 0.05, fifo: bool = False, **player: Any) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 8:
            raise allowed("n", n, "an int from 2 to 8")
        self.ids = [f"n{i}" for i in range(n)]
        self.initial: dict[str, Any] = dict(latency_ms=latency_ms, jitter_ms=jitter_ms, drop=drop,
                                            duplicate=duplicate, fifo=fifo)
        _network(**self.initial)      # check the settings now
        player.setdefault("window_ms", 80)
        super().__init__(self._make, seed=seed, **player)
        for label, fn in (("network", self._apply_network), ("ping", _ping), ("broadcast", _broadcast),
                          ("partition", _partition), ("crash", _crash), ("recover", _recover)):
            self.add_action(label, fn, button=False)
        self.add_action("heal", lambda sim: sim.heal(), button=False)

    def _make(self, seed: int) -> Simulation:
        self.settings = dict(self.initial)
        sim = Simulation(seed=seed, network=_network(**self.initial))
        for node_id in self.ids:
            sim.add_node(Pinger(node_id))
        return sim

    def _apply_network(self, sim: Simulation, *args: Any) -> None:
        _set_network(sim, *args)
        self.settings = dict(zip(("latency_ms", "jitter_ms", "drop", "duplicate", "fifo"), args, strict=False))

    # what the controls do
    def network(self, latency_ms: float, jitter_ms: float, drop: float, duplicate: float, fifo: bool) -> None:
        """Set every link to this model (logged and replayed)."""
        _network(latency_ms, jitter_ms, drop, duplicate, fifo)
        self.do("network", latency_ms, jitter_ms, drop, duplicate, fifo)

    def ping(self, src: str, dst: str) -> None:
        """``src`` sends a Ping to ``dst`` (who answers with a Pong)."""
        self._known_node(src)
        self._known_node(dst)
        self.do("ping", src, dst)

    def broadcast(self, src: str) -> None:
        """``src`` sends a Broadcast to every other node."""
        self._known_node(src)
        self.do("broadcast", src)

    def partition(self, group: list[str]) -> None:
        """Cut ``group`` off from the other nodes."""
        for node in group:
            self._known_node(node)
        self.do("partition", sorted(group))

    def heal(self) -> None:
        """Remove the partition."""
        self.do("heal")

    def crash(self, node: str) -> None:
        """Crash ``node`` (no-op if it is down)."""
        self._known_node(node)
        self.do("crash", node)

    def recover(self, node: str) -> None:
        """Recover ``node`` (no-op if it is up)."""
        self._known_node(node)
        self.do("recover", node)

    def _known_node(self, node: str) -> None:
        if node not in self.ids:
            raise allowed("node", node, f"one of {', '.join(self.ids)}")

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        W, s = self._widgets, self.settings
        narrow = w.Layout(width="220px")
        W["latency"] = w.FloatSlider(value=s["latency_ms"], min=0.5, max=20, step=0.5, description="latency",
                                     layout=narrow, continuous_update=False)
        W["jitter"] = w.FloatSlider(value=s["jitter_ms"], min=0, max=10, step=0.5, description="jitter",
                                    layout=narrow, continuous_update=False)
        W["drop"] = w.FloatSlider(value=s["drop"], min=0, max=0.5, step=0.05, description="drop",
                                  layout=narrow, continuous_update=False)
        W["duplicate"] = w.FloatSlider(value=s["duplicate"], min=0, max=0.5, step=0.05, description="duplicate",
                                       layout=narrow, continuous_update=False)
        W["fifo"] = w.Checkbox(value=s["fifo"], description="FIFO links")
        for name in ("latency", "jitter", "drop", "duplicate", "fifo"):
            W[name].observe(lambda ch: self._on_network(), names="value")
        W["src"] = w.Dropdown(options=self.ids, value=self.ids[0], description="from", layout=w.Layout(width="140px"))
        W["dst"] = w.Dropdown(options=self.ids, value=self.ids[1], description="to", layout=w.Layout(width="140px"))
        W["group"] = w.SelectMultiple(options=self.ids, rows=min(len(self.ids), 4), description="group",
                                      layout=w.Layout(width="170px"))
        buttons = [self._button("ping", lambda: self.ping(W["src"].value, W["dst"].value)),
                   self._button("broadcast", lambda: self.broadcast(W["src"].value)),
                   self._button("crash 'from'", lambda: self.crash(W["src"].value)),
                   self._button("recover 'from'", lambda: self.recover(W["src"].value)),
                   self._button("partition group", lambda: self.partition(list(W["group"].value))),
                   self._button("heal", self.heal)]
        return [w.HBox([W["latency"], W["jitter"], W["drop"], W["duplicate"], W["fifo"]],
                       layout=w.Layout(flex_flow="row wrap")),
                w.HBox([W["src"], W["dst"], W["group"], w.VBox([w.HBox(buttons[:4]), w.HBox(buttons[4:])])])]

    def _refresh_extra(self) -> None:
        W = self._widgets
        if "fifo" not in W:
            return
        self._syncing = True
        try:
            for name, key in (("latency", "latency_ms"), ("jitter", "jitter_ms"), ("drop", "drop"),
                              ("duplicate", "duplicate"), ("fifo", "fifo")):
                W[name].value = self.settings[key]
        finally:
            self._syncing = False

    def _on_network(self) -> None:
        if self._syncing:
            return
        W = self._widgets
        jitter = min(W["jitter"].value, W["latency"].value)
        self.network(W["latency"].value, jitter, W["drop"].value, W["duplicate"].value, W["fifo"].value)


def playground(n: int = 4, *, seed: int | None = None, **settings: Any) -> Playground:
    """The network playground with ``n`` nodes (see :class:`Playground`)."""
    return Playground(n, seed=seed, **settings)
