"""A heartbeat failure detector with adaptive timeouts: the reference solution of exercise E1.2.

Every node sends a heartbeat to every peer each ``period_ms`` and suspects a peer it has not
heard from for ``timeout[peer]`` ms. When a suspected peer turns out to be alive (a heartbeat
arrives), the suspicion was false, so the timeout for that peer doubles. In a partially
synchronous system (delays bounded by an unknown Δ after an unknown GST) the timeout soon
exceeds ``period + Δ`` and false suspicions stop, while a crashed peer is suspected forever:
the eventually perfect failure detector ◇P of Chandra and Toueg, "Unreliable Failure
Detectors for Reliable Distributed Systems" (JACM 1996), §9.1 (and Cachin, Guerraoui and
Rodrigues 2011, §2.6.5, "Increasing Timeout").

The detector's output is the attribute ``suspected`` (a set of peer ids); ``timeout`` maps
each peer to its current timeout in ms.
"""

from dataclasses import dataclass

import dscourse as ds


@dataclass(frozen=True)
class Heartbeat:
    """The sender is alive."""


class TimeoutFD(ds.sim.Node):
    """◇P by heartbeats and a per-peer timeout that doubles after each false suspicion."""

    def __init__(self, node_id: str, period_ms: float = 10.0,
                 initial_timeout_ms: float = 12.0) -> None:
        """Set up the detector (the tests read ``suspected`` and ``timeout``)."""
        super().__init__(node_id)
        self.period_ms = period_ms
        self.initial_timeout_ms = initial_timeout_ms
        self.suspected: set[str] = set()
        self.timeout: dict[str, float] = {}       # peer -> current timeout (ms)
        self.last_heard: dict[str, float] = {}    # peer -> when its last heartbeat arrived

    def on_start(self) -> None:
        """Start with ``initial_timeout_ms`` for every peer, and the heartbeat timer."""
        for peer in self.peers:
            self.timeout[peer] = self.initial_timeout_ms
            self.last_heard[peer] = self.now
        self.on_timer("beat", None)

    def on_message(self, src: str, msg: object) -> None:
        """A heartbeat from ``src``: it is alive."""
        if isinstance(msg, Heartbeat):
            self.last_heard[src] = self.now
            if src in self.suspected:                   # it was alive: a false suspicion
                self.suspected.discard(src)
                self.timeout[src] *= 2

    def on_timer(self, name: str, payload: object) -> None:
        """Every period: send heartbeats, and suspect peers silent for longer than their timeout."""
        for peer in self.peers:
            self.send(peer, Heartbeat())
        for peer in self.peers:
            if peer not in self.suspected and self.now - self.last_heard[peer] > self.timeout[peer]:
                self.suspected.add(peer)
        self.set_timer(self.period_ms, "beat")
