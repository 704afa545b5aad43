"""What a configuration design costs the server, read from a run's trace (Chapter 15, "at scale").

* requests per second the server receives, and bytes in and out (each message's JSON
  rendering in the trace: a stand-in for the HTTP body, without headers);
* connections held: long polls parked at the server (sampled every second), and for Nacos 2.x
  the long-lived connections (one per client);
* propagation: per client, the delay from a publish to the moment the new content is applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import allowed
from ..sim import Network, Uniform
from .system import ConfigCluster, cluster


@dataclass(frozen=True)
class Cost:
    """Server-side cost over a window of ``seconds`` of virtual time."""

    design: str
    clients: int
    seconds: float
    requests: int
    bytes_in: int
    bytes_out: int
    held_mean: float
    held_peak: int
    connections: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def bytes_per_s(self) -> float:
        return (self.bytes_in + self.bytes_out) / self.seconds


def _size(data: object) -> int:
    return len(json.dumps(data, separators=(",", ":")))


def window(c: ConfigCluster, seconds: float, step_ms: float = 1_000) -> Cost:
    """Run ``c`` for ``seconds`` and measure the server's traffic and held requests meanwhile."""
    if not seconds > 0:
        raise allowed("seconds", seconds, "a duration > 0")
    start = len(c.trace)
    samples = []
    end = c.now + seconds * 1000
    while c.now < end:
        c.run(until=min(end, c.now + step_ms))
        samples.append(c.held())
    requests = bytes_in = bytes_out = 0
    for e in c.trace.events[start:]:
        if e.kind != "send":
            continue
        if e.peer == "server":
            requests += 1
            bytes_in += _size(e.data)
        elif e.node == "server":
            bytes_out += _size(e.data)
    connections = len(c.clients) if c.design == "nacos2" else 0
    return Cost(c.design, len(c.clients), seconds, requests, bytes_in, bytes_out,
                sum(samples) / len(samples), max(samples), connections)


def propagation(c: ConfigCluster, key: str, since: float) -> list[float]:
    """Per client that applied a change of ``key`` after ``since``: the delay in ms (the first
    application after ``since``), sorted; clients that never got it are left out."""
    out = []
    for node in c.clients.values():
        times = [t for t, k, _ in node.received if k == key and t >= since]
        if times:
            out.append(times[0] - since)
    return sorted(out)


@dataclass(frozen=True)
class Scale:
    """One design at one size: idle cost, the cost of one change, its propagation."""

    idle: Cost
    change: Cost
    delays: tuple[float, ...]
    events: int  # trace events of the whole run

    @property
    def extra_requests_per_change(self) -> float:
        """Requests in the change window beyond what the idle rate predicts."""
        return self.change.requests - self.idle.requests_per_s * self.change.seconds


def at_scale(design: str, clients: int = 10_000, seed: int = 1, idle_s: float = 300,
             change_s: float = 15, warmup_s: float = 35, poll_interval_ms: float = 10_000) -> Scale:
    """Build ``clients`` clients of ``design``, let them settle, measure ``idle_s`` seconds
    with no change (300 s by default: one Apollo fallback pull falls inside), then publish
    once and measure ``change_s`` seconds. Links: FIFO, 1-10 ms uniform latency."""
    key = "application.yaml"
    c = cluster(design, clients=clients, seed=seed, keys=(key,), poll_interval_ms=poll_interval_ms,
                network=Network(latency=Uniform(1.0, 10.0), fifo=True))
    c.publish(key, "v: 0")
    c.run(warmup_s * 1000)
    idle = window(c, idle_s)
    since = c.now
    c.publish(key, "v: 1")
    change = window(c, change_s)
    return Scale(idle, change, tuple(propagation(c, key, since)), len(c.trace))
