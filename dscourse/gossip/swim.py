"""SWIM-style membership (Das, Gupta & Motivala, DSN 2002), as Consul and Serf use it.

* **Failure detection** (§3.1): every ``period_ms`` a node pings the next member of a shuffled
  round-robin list (§4.3); without an ack within ``ack_timeout_ms`` it asks ``k`` random
  members to ping the target for it (**ping-req**, the indirect probe); without any ack by the
  end of the period the target is *suspected*.
* **Suspicion** (§4.2): a suspected member that hears of it refutes with a higher
  **incarnation number**; otherwise after ``suspect_ms`` it is confirmed dead. Alive(i)
  overrides Suspect(j) when i > j; Suspect(i) overrides Alive(j) when i ≥ j; Dead overrides all.
* **Dissemination** (§4.1): updates ride on pings and acks (infection-style), each sent
  ``3·⌈log₂(n+1)⌉`` times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Node, Simulation, reliable

Update = tuple[str, str, int]           # member, "alive" | "suspect" | "dead", incarnation


@dataclass(frozen=True)
class SwimPing:
    seq: int
    updates: tuple[Update, ...]
    relay_for: str = ""


@dataclass(frozen=True)
class SwimAck:
    seq: int
    updates: tuple[Update, ...]
    target: str = ""


@dataclass(frozen=True)
class PingReq:
    seq: int
    target: str
    updates: tuple[Update, ...]


class SwimNode(Node):
    """A SWIM member (module docstring); ``members`` lists everyone, itself included."""

    def __init__(self, node_id: str, members: list[str], k: int = 3, period_ms: float = 200.0,
                 ack_timeout_ms: float = 40.0, suspect_ms: float = 1000.0) -> None:
        super().__init__(node_id)
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise allowed("k", k, "an int >= 0")
        self.k, self.period_ms, self.ack_timeout_ms, self.suspect_ms = k, period_ms, ack_timeout_ms, suspect_ms
        self.incarnation = self.stable.get("incarnation", 0)
        self.state: dict[str, tuple[str, int]] = {m: ("alive", 0) for m in members if m != node_id}
        self.pending: dict[str, int] = {}          # update -> sends left
        self.order: list[str] = []
        self.seq = 0
        self.acked: set[int] = set()
        self.relays: dict[int, tuple[str, int]] = {}
        self.repeat = 3 * math.ceil(math.log2(len(members) + 1))

    # -- dissemination --------------------------------------------------------------------
    def _updates(self) -> tuple[Update, ...]:
        out = []
        for key in sorted(self.pending):
            m, status, inc = key.split("|")
            out.append((m, status, int(inc)))
            self.pending[key] -= 1
            if self.pending[key] <= 0:
                del self.pending[key]
        return tuple(out)

    def _spread(self, m: str, status: str, inc: int) -> None:
        self.pending[f"{m}|{status}|{inc}"] = self.repeat

    def apply(self, updates: tuple[Update, ...]) -> None:
        for m, status, inc in updates:
            if m == self.id:
                if status in ("suspect", "dead") and inc >= self.incarnation:
                    self.incarnation = inc + 1               # refute (§4.2)
                    self.stable["incarnation"] = self.incarnation
                    self._spread(self.id, "alive", self.incarnation)
                continue
            cur, cur_inc = self.state.get(m, ("alive", -1))
            if cur == "dead":
                continue
            newer = (status == "dead" or (status == "alive" and inc > cur_inc)
                     or (status == "suspect" and (inc > cur_inc or (inc == cur_inc and cur == "alive"))))
            if newer:
                self._set(m, status, inc)

    def _set(self, m: str, status: str, inc: int) -> None:
        self.state[m] = (status, inc)
        self.annotate(member=m, status=status, incarnation=inc)
        self._spread(m, status, inc)
        if status == "suspect":
            self.set_timer(self.suspect_ms, "confirm", [m, inc])

    # -- failure detection ----------------------------------------------------------------
    def on_start(self) -> None:
        self.set_timer(float(self.rng.uniform(0, self.period_ms)), "period")

    def _next_target(self) -> str | None:
        live = [m for m, (s, _) in self.state.items() if s != "dead"]
        self.order = [m for m in self.order if m in live]
        if not self.order:
            self.order = [live[int(i)] for i in self.rng.permutation(len(live))]
        return self.order.pop(0) if self.order else None

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "period":
            target = self._next_target()
            if target is not None:
                self.seq += 1
                self.send(target, SwimPing(self.seq, self._updates()))
                self.set_timer(self.ack_timeout_ms, "indirect", [target, self.seq])
                self.set_timer(self.period_ms * 0.95, "judge", [target, self.seq])
            self.set_timer(self.period_ms, "period")
        elif name == "indirect":
            target, seq = payload
            if seq not in self.acked and self.k:
                others = [m for m, (s, _) in self.state.items() if s != "dead" and m != target]
                for i in self.rng.permutation(len(others))[: self.k].tolist():
                    self.send(others[i], PingReq(seq, target, self._updates()))
        elif name == "judge":
            target, seq = payload
            status, inc = self.state.get(target, ("dead", 0))
            if seq not in self.acked and status == "alive":
                self._set(target, "suspect", inc)
        elif name == "confirm":
            m, inc = payload
            if self.state.get(m) == ("suspect", inc):
                self._set(m, "dead", inc)

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, SwimPing):
            self.apply(msg.updates)
            self.send(src, SwimAck(msg.seq, self._updates(), msg.relay_for))
        elif isinstance(msg, SwimAck):
            self.apply(msg.updates)
            if msg.target:                                   # an ack for a relayed probe
                origin, seq = self.relays.pop(msg.seq, ("", 0))
                if origin:
                    self.send(origin, SwimAck(seq, self._updates()))
            else:
                self.acked.add(msg.seq)
        elif isinstance(msg, PingReq):
            self.apply(msg.updates)
            self.seq += 1
            self.relays[self.seq] = (src, msg.seq)
            self.send(msg.target, SwimPing(self.seq, self._updates(), relay_for=src))


@dataclass(frozen=True)
class SwimRun:
    """Detection time of a crashed member and the false positives seen under loss."""

    detected_ms: float | None        # until every live member declared the victim dead
    false_suspicions: int            # suspicions of live members
    false_deaths: int                # live members declared dead


def swim_run(n: int = 16, k: int = 3, drop: float = 0.0, crash: str | None = "s1", seed: int = 1,
             horizon_ms: float = 10_000.0, crash_at: float = 1000.0) -> SwimRun:
    """Run ``n`` SWIM members with message loss ``drop``; crash ``crash`` at ``crash_at``."""
    names = [f"s{i}" for i in range(n)]
    net = reliable(latency=5.0)
    if drop:
        from ..sim import Network, Uniform
        net = Network(latency=Uniform(2.0, 8.0), drop=drop, name="lossy")
    sim = Simulation(seed=seed, network=net)
    nodes = [SwimNode(x, names, k=k) for x in names]
    for x in nodes:
        sim.add_node(x)
    if crash:
        sim.schedule_nemesis([(crash_at, ("crash", crash))])
    sim.run(until=horizon_ms)
    detected = None
    if crash:
        times: dict[str, float] = {}
        for e in sim.trace.filter("annotate"):
            if e.data.get("member") == crash and e.data.get("status") == "dead":
                times.setdefault(e.node or "", e.time / 1000)
        live = [x for x in names if x != crash]
        if all(x in times for x in live):
            detected = max(times[x] for x in live) - crash_at
    sus = dead = 0
    for e in sim.trace.filter("annotate"):
        if e.data.get("member") not in (None, crash):
            sus += e.data.get("status") == "suspect"
            dead += e.data.get("status") == "dead"
    return SwimRun(detected, sus, dead)
