"""A heartbeat failure detector with a fixed timeout, and the trade-off it cannot escape.

A monitored process ``p`` sends a heartbeat every ``interval_ms``; the monitor ``m``
suspects ``p`` when no heartbeat arrived for ``timeout_ms`` and trusts it again when one
arrives (Chandra & Toueg, "Unreliable Failure Detectors for Reliable Distributed Systems",
JACM 43(2), 1996, §2 and §9.1). A short timeout detects a crash quickly but wrongly
suspects a live process whenever a heartbeat is slow; a long one makes fewer mistakes and
detects crashes late.

In a partially synchronous system (Dwork, Lynch & Stockmeyer, JACM 35(2), 1988) delays are
unbounded until an unknown global stabilization time (GST) and at most some Δ afterwards.
This detector is eventually perfect (◇P) only if its fixed timeout exceeds
``interval_ms + Δ``; since Δ is unknown, a fixed timeout cannot be chosen safely in advance,
which is why eventually perfect detectors adapt their timeout (exercise E1.2).

:func:`measure` runs one detector on the simulator; :func:`sweep` measures the
false-suspicion rate and the detection latency over a range of timeouts.
:class:`FailoverNode` and :func:`split_brain` act on such suspicions: failover without a
majority rule turns a partition into two leaders (split brain).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Dist, Node, Pareto, Simulation, Uniform
from ..sim.network import Network

HEAVY_TAIL = Pareto(scale=2.0, alpha=1.2)   # ms; P(delay > x) = (2 / x) ** 1.2
AFTER_GST = Uniform(1.0, 8.0)               # ms; Δ = 8 ms after GST
GST_MS, CRASH_MS = 2000.0, 4000.0


@dataclass(frozen=True)
class Alive:
    """Heartbeat number ``seq`` from the monitored process."""

    seq: int


class HeartbeatSender(Node):
    """Sends :class:`Alive` to ``monitor`` every ``interval_ms``."""

    def __init__(self, id: str, *, monitor: str, interval_ms: float) -> None:
        super().__init__(id)
        self.monitor, self.interval_ms, self.seq = monitor, interval_ms, 0

    def on_start(self) -> None:
        self.on_timer("beat", None)

    def on_timer(self, name: str, payload: Any) -> None:
        self.send(self.monitor, Alive(self.seq))
        self.seq += 1
        self.set_timer(self.interval_ms, "beat")


class HeartbeatMonitor(Node):
    """Suspects ``target`` after ``timeout_ms`` without a heartbeat (a fixed timeout).

    ``changes`` lists ``(time_ms, suspected)`` transitions; each is also annotated
    (``suspect=True/False``) for the space-time diagram.
    """

    def __init__(self, id: str, *, target: str, timeout_ms: float) -> None:
        super().__init__(id)
        self.target, self.timeout_ms = target, timeout_ms
        self.suspected = False
        self.changes: list[tuple[float, bool]] = []
        self._timer: int | None = None

    def on_start(self) -> None:
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self.cancel_timer(self._timer)
        self._timer = self.set_timer(self.timeout_ms, "timeout")

    def _set(self, suspected: bool) -> None:
        if suspected != self.suspected:
            self.suspected = suspected
            self.changes.append((self.now, suspected))
            self.annotate(suspect=suspected)

    def on_message(self, src: str, msg: Alive) -> None:
        self._set(False)
        self._arm()

    def on_timer(self, name: str, payload: Any) -> None:
        self._timer = None
        self._set(True)


def _positive(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise allowed(what, value, "a number of ms > 0")
    return float(value)


def build(timeout_ms: float, *, interval_ms: float = 10.0, latency: Dist = HEAVY_TAIL,
          gst_ms: float | None = GST_MS, after_gst: Dist = AFTER_GST, crash_ms: float | None = CRASH_MS,
          seed: int = 1) -> Simulation:
    """Process ``p`` heartbeating monitor ``m``: delays drawn from ``latency`` until ``gst_ms``
    and from ``after_gst`` afterwards (``gst_ms=None``: never stabilizes); ``p`` crashes at
    ``crash_ms`` (``None``: never)."""
    _positive("timeout_ms", timeout_ms)
    _positive("interval_ms", interval_ms)
    sim = Simulation(seed=seed, network=Network(latency=latency, fifo=True))
    sim.add_node(HeartbeatSender("p", monitor="m", interval_ms=interval_ms))
    sim.add_node(HeartbeatMonitor("m", target="p", timeout_ms=timeout_ms))
    schedule: list[tuple[float, tuple[Any, ...]]] = []
    if gst_ms is not None:
        schedule.append((_positive("gst_ms", gst_ms), ("slow_link", "p", "m", after_gst)))
    if crash_ms is not None:
        schedule.append((_positive("crash_ms", crash_ms), ("crash", "p")))
    if schedule:
        sim.schedule_nemesis(schedule)
    return sim


@dataclass(frozen=True)
class FDRun:
    """One measured run of the fixed-timeout detector."""

    timeout_ms: float
    gst_ms: float | None
    crash_ms: float | None
    end_ms: float
    changes: tuple[tuple[float, bool], ...]
    delays: tuple[tuple[float, float], ...]     # (send time, delay) of each delivered heartbeat

    @property
    def alive_ms(self) -> float:
        """How long ``p`` was up during the run."""
        return self.end_ms if self.crash_ms is None else min(self.crash_ms, self.end_ms)

    def false_suspicions(self, start: float = 0.0) -> int:
        """Suspicions raised while ``p`` was alive, from time ``start`` on."""
        return sum(1 for t, s in self.changes if s and start <= t < self.alive_ms)

    @property
    def false_after_gst(self) -> int:
        """False suspicions raised after GST (0 for an eventually perfect detector, eventually)."""
        return 0 if self.gst_ms is None else self.false_suspicions(self.gst_ms)

    @property
    def wrong_ms(self) -> float:
        """Total time ``p`` was suspected while alive."""
        total, since = 0.0, None
        for t, s in (*self.changes, (self.alive_ms, False)):
            t = min(t, self.alive_ms)
            if s and since is None:
                since = t
            elif not s and since is not None:
                total += t - since
                since = None
        return total

    @property
    def detection_ms(self) -> float | None:
        """Time from the crash to the suspicion that lasts (``None``: no crash, or not yet suspected)."""
        if self.crash_ms is None or not self.changes or not self.changes[-1][1]:
            return None
        return max(0.0, self.changes[-1][0] - self.crash_ms)


def measure(timeout_ms: float, *, duration_ms: float = 5000.0, **options: Any) -> FDRun:
    """Run :func:`build` for ``duration_ms`` and collect the detector's behaviour."""
    sim = build(timeout_ms, **options)
    sim.run(until=_positive("duration_ms", duration_ms))
    monitor = sim.nodes["m"]
    assert isinstance(monitor, HeartbeatMonitor)
    sent = {e.msg_id: e.time for e in sim.trace.events if e.kind == "send"}
    delays = tuple((sent[e.msg_id] / 1000, (e.time - sent[e.msg_id]) / 1000)
                   for e in sim.trace.events if e.kind == "deliver" and e.node == "m")
    return FDRun(float(timeout_ms), options.get("gst_ms", GST_MS), options.get("crash_ms", CRASH_MS),
                 float(duration_ms), tuple(monitor.changes), delays)


@dataclass(frozen=True)
class SweepRow:
    """Averages over seeds for one timeout."""

    timeout_ms: float
    false_before_gst: float     # false suspicions before GST, per run (all of them without GST)
    false_after_gst: float      # false suspicions after GST, per run
    wrong_fraction: float       # fraction of p's life spent wrongly suspected
    detection_ms: float | None  # mean crash-to-suspicion latency


def sweep(timeouts: Iterable[float], *, seeds: Sequence[int] = (1, 2, 3), **options: Any) -> list[SweepRow]:
    """Measure every timeout over ``seeds`` (options as for :func:`measure`)."""
    rows = []
    for timeout in timeouts:
        runs = [measure(timeout, seed=s, **options) for s in seeds]
        detections = [r.detection_ms for r in runs if r.detection_ms is not None]
        rows.append(SweepRow(
            float(timeout),
            statistics.fmean(r.false_suspicions() - r.false_after_gst for r in runs),
            statistics.fmean(r.false_after_gst for r in runs),
            statistics.fmean(r.wrong_ms / r.alive_ms for r in runs),
            statistics.fmean(detections) if detections else None))
    return rows


# ---- failover on suspicion, and split brain ------------------------------------------------------


class FailoverNode(Node):
    """Heartbeat-driven failover: every node broadcasts its role every ``interval_ms``.

    A follower that hears no leader for ``timeout_ms`` takes over if it has the smallest id
    among the nodes it hears. With ``quorum=True`` it must also hear a majority of the
    ``n`` nodes (itself included), and a leader that stops hearing a majority steps down.
    Without the quorum rule, a partition produces two leaders: split brain. With it, at
    most one side can have a leader with a majority, though a deposed leader still believes
    it leads until its next check (Kleppmann, *Designing Data-Intensive Applications*,
    2017, ch. 8, "The Truth Is Defined by the Majority").
    """

    def __init__(self, id: str, *, n: int, quorum: bool, interval_ms: float = 10.0,
                 timeout_ms: float = 30.0) -> None:
        super().__init__(id)
        self.n, self.quorum, self.interval_ms, self.timeout_ms = n, quorum, interval_ms, timeout_ms
        self.heard: dict[str, float] = {}
        self.leader_seen = 0.0
        self.role: str | None = None

    def _become(self, role: str) -> None:
        if role != self.role:
            self.role = role
            self.annotate(role=role)

    def on_start(self) -> None:
        self.heard = {p: self.now for p in self.peers}     # everyone starts out reachable
        self.leader_seen = self.now
        self._become("leader" if self.id == min((*self.peers, self.id)) else "follower")
        self.on_timer("beat", None)

    def on_message(self, src: str, msg: str) -> None:
        self.heard[src] = self.now
        if msg == "leader":
            self.leader_seen = self.now
            if self.role == "leader" and src < self.id:
                self._become("follower")

    def on_timer(self, name: str, payload: Any) -> None:
        reachable = sorted([p for p, t in self.heard.items() if self.now - t < self.timeout_ms] + [self.id])
        majority = len(reachable) > self.n // 2
        if self.role == "leader" and self.quorum and not majority:
            self._become("follower")
        elif (self.role == "follower" and self.now - self.leader_seen >= self.timeout_ms
              and reachable[0] == self.id and (majority or not self.quorum)):
            self._become("leader")
        self.broadcast(self.role)
        self.set_timer(self.interval_ms, "beat")


@dataclass(frozen=True)
class SplitBrainRun:
    """A failover run: its trace and how long two or more nodes believed they led."""

    quorum: bool
    trace: Any
    leaders_at_end: tuple[str, ...]
    two_leaders_ms: float


def split_brain(*, quorum: bool, n: int = 5, minority: Sequence[str] = ("n0", "n1"),
                partition_ms: float = 50.0, heal_ms: float = 200.0, end_ms: float = 260.0,
                seed: int = 1) -> SplitBrainRun:
    """Run :class:`FailoverNode` s, cut ``minority`` off from the rest, heal, and measure."""
    sim = Simulation(seed=seed, network=Network(latency=Uniform(1.0, 3.0)))
    ids = [f"n{i}" for i in range(n)]
    for node_id in ids:
        sim.add_node(FailoverNode(node_id, n=n, quorum=quorum))
    sim.schedule_nemesis([(partition_ms, ("partition", [list(minority), [i for i in ids if i not in minority]])),
                          (heal_ms, ("heal",))])
    sim.run(until=end_ms)
    roles: dict[str, str] = {}
    overlap, last = 0.0, 0.0
    for e in sim.trace.filter(kind="annotate"):
        t = e.time / 1000
        if sum(1 for r in roles.values() if r == "leader") >= 2:
            overlap += t - last
        roles[str(e.node)] = e.data["role"]
        last = t
    if sum(1 for r in roles.values() if r == "leader") >= 2:
        overlap += end_ms - last
    leaders = tuple(sorted(v for v, r in roles.items() if r == "leader"))
    return SplitBrainRun(quorum, sim.trace, leaders, round(overlap, 3))
