"""Two servers for the broadcast workload (:mod:`.broadcast`): naive flooding and a tuned,
batched, acknowledged design.

* :class:`Flood` -- forward each new value at once to every topology neighbour except the one
  it came from. Few lines, fast on a healthy network, but a message cut by a partition is
  never resent: values are lost (Glomers 3c fails), and on the 5×5 grid it costs about
  ``2·edges − (n − 1)`` = 56 messages per broadcast.
* :class:`Batched` -- ignore the given topology and use a star around ``hub`` (two hops from
  anyone to anyone); every ``interval_ms`` each server sends each neighbour, in one message,
  the values it has not yet seen acknowledged (and whose last send is older than
  ``retry_ms``); the neighbour acknowledges them in one reply. Batching trades latency for
  messages; acknowledgements and retries make partitions harmless (Glomers 3c, 3d, 3e).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..errors import allowed
from ..sim import Node


class _Server(Node, ABC):
    """Shared client handling: topology_ok, broadcast_ok, read_ok."""

    def __init__(self, node_id: str, node_ids: list[str]) -> None:
        super().__init__(node_id)
        self.node_ids = list(node_ids)
        self.messages: set[int] = set()
        self.neighbours: list[str] = []

    def reply(self, src: str, msg: dict, body: dict) -> None:
        self.send(src, {**body, "in_reply_to": msg.get("msg_id")})

    def on_message(self, src: str, msg: Any) -> None:
        kind = msg.get("type")
        if kind == "topology":
            self.neighbours = list(msg["topology"].get(self.id, []))
            self.reply(src, msg, {"type": "topology_ok"})
        elif kind == "read":
            self.reply(src, msg, {"type": "read_ok", "messages": sorted(self.messages)})
        elif kind == "broadcast":
            self.learn([msg["message"]], src)
            self.reply(src, msg, {"type": "broadcast_ok"})
        else:
            self.on_peer(src, msg)

    @abstractmethod
    def learn(self, values: list[int], src: str) -> None:
        """Take ``values`` (from ``src``) into this node's set and spread them onward."""

    @abstractmethod
    def on_peer(self, src: str, msg: dict) -> None:
        """Handle a message from another server (not a client request)."""


class Flood(_Server):
    """Naive flooding over the given topology (see the module docstring)."""

    def learn(self, values: list[int], src: str) -> None:
        for v in values:
            if v not in self.messages:
                self.messages.add(v)
                for nbr in self.neighbours:
                    if nbr != src:
                        self.send(nbr, {"type": "gossip", "message": v})

    def on_peer(self, src: str, msg: dict) -> None:
        if msg.get("type") == "gossip":
            self.learn([msg["message"]], src)


class Batched(_Server):
    """A star of batched, acknowledged gossip (see the module docstring).

    Subclass and set ``interval_ms``/``retry_ms``/``hub`` (or use :func:`batched`).
    """

    interval_ms: float = 50.0
    retry_ms: float = 1000.0
    hub: str = "n0"

    def __init__(self, node_id: str, node_ids: list[str]) -> None:
        super().__init__(node_id, node_ids)
        hub = self.hub if self.hub in node_ids else node_ids[0]
        self.star = [n for n in node_ids if n != node_id] if node_id == hub else [hub]
        self.pending: dict[str, dict[int, float]] = {n: {} for n in self.star}  # value -> last sent

    def on_start(self) -> None:
        self.set_timer(self.interval_ms, "tick")

    def learn(self, values: list[int], src: str) -> None:
        for v in values:
            if v not in self.messages:
                self.messages.add(v)
                for nbr in self.star:
                    if nbr != src:
                        self.pending[nbr][v] = -1e18

    def on_timer(self, name: str, payload: Any) -> None:
        now = self.now
        for nbr, pend in self.pending.items():
            due = [v for v, t in pend.items() if now - t >= self.retry_ms]
            if due:
                for v in due:
                    pend[v] = now
                self.send(nbr, {"type": "gossip", "messages": sorted(due)})
        self.set_timer(self.interval_ms, "tick")

    def on_peer(self, src: str, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "gossip":
            values = list(msg["messages"])
            self.learn(values, src)
            self.send(src, {"type": "gossip_ok", "messages": values})
        elif kind == "gossip_ok" and src in self.pending:
            pend = self.pending[src]
            for v in msg["messages"]:
                pend.pop(v, None)


def batched(interval_ms: float = 50.0, retry_ms: float = 1000.0, hub: str = "n0") -> type[Batched]:
    """A :class:`Batched` subclass with these settings (a class, for ``broadcast_workload``)."""
    for name, value in (("interval_ms", interval_ms), ("retry_ms", retry_ms)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise allowed(name, value, "a number of ms > 0")
    return type(f"Batched_{interval_ms:g}ms", (Batched,),
                {"interval_ms": float(interval_ms), "retry_ms": float(retry_ms), "hub": hub})
