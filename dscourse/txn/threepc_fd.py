"""Three-phase commit as Skeen proved it non-blocking: fail-stop processes, a **perfect
failure detector**, and the termination protocol (Skeen, "Nonblocking Commit Protocols",
SIGMOD 1981, §4-§5; Bernstein, Hadzilacos & Goodman 1987, §7.5 "3PC", its termination
protocol and rules TR1-TR4).

:mod:`.threepc` has the textbook timeout rules, and a timeout there may fire while the
coordinator is alive but slow or cut off -- the split the model checker finds. Here:

* every node may **stop for good** at any point (a ``halt`` timer: crash-stop, no restart);
* the **perfect failure detector** (:meth:`FdParticipant.suspects`) reports a node crashed
  iff it has stopped (strong completeness and strong accuracy, which only a simulation can
  offer: the oracle reads the stopped flag). Every timeout acts only on a suspicion: a
  coordinator stops waiting for a vote or a pre-commit ack only from stopped participants,
  and a participant starts the termination protocol only when the coordinator has stopped;
* **termination protocol**: the live participant with the smallest id (the backup
  coordinator; the next one if it stops too) asks every live participant for its state
  (``StateRequest``) and applies TR1-TR4: some *aborted* (or never voted) -> abort; some
  *committed* -> commit; some *pre-committed* -> ``PreCommit`` to all, then commit after
  their acks; all *uncertain* (prepared only) -> abort;
* a participant that reported its state to a backup coordinator (asked, or waking it up
  because the backup may have nothing in doubt itself) ignores ``PreCommit`` from any
  coordinator before it (a late ``PreCommit`` from a stopped coordinator would otherwise
  make it committable after the backup decided abort).

:func:`check_3pc_fd` model checks atomicity with any subset of nodes stopping at any point;
:func:`run_3pc_fd` is the timed nemesis run that shows every live participant deciding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checkers.explore import ExploreResult, explore
from ..errors import allowed
from ..sim import Simulation
from .messages import Decision, PreAck, PreCommit, Prepare, Vote
from .threepc import ThreePCCoordinator, ThreePCParticipant
from .twopc import INVARIANTS, outcomes, transfer


@dataclass(frozen=True)
class StateRequest:
    """A backup coordinator asks for a participant's state (termination protocol)."""

    txid: str


@dataclass(frozen=True)
class StateReport:
    """``state``: ``aborted``, ``committed``, ``pre-committed``, ``uncertain`` or ``none``."""

    txid: str
    state: str


class FdCoordinator(ThreePCCoordinator):
    """3PC's coordinator whose timeouts act only on participants the detector suspects."""

    def suspects(self, node: str) -> bool:
        return bool(self._sim.nodes[node].stable.get("halted"))

    def on_timer(self, name: str, payload: Any) -> None:
        if self.stable.get("halted"):
            return
        if name in ("vote-timeout", "ack-timeout"):
            waiting = (self.votes.get(payload, {}) if name == "vote-timeout" else self.preacks.get(payload, set()))
            missing = [p for p in self.participants(payload) if p not in waiting]
            if not all(self.suspects(p) for p in missing):
                self.set_timer(self.timeout_ms, name, payload)        # not suspected: keep waiting
                return
        super().on_timer(name, payload)


class FdParticipant(ThreePCParticipant):
    """A 3PC participant with the perfect failure detector and the termination protocol."""

    def __init__(self, id: str, coordinator: str = "c", cohort: Any = (), *, halt: bool = False, **kw: Any) -> None:
        super().__init__(id, coordinator, cohort, **kw)
        self.halt = halt
        self.reports: dict[str, dict[str, str]] = {}
        self.preacks: dict[str, set[str]] = {}

    def state(self) -> tuple[Any, ...]:
        return (*super().state(), self.asked, self.stable.get("halted"), self.stable.get("rank"), self.reports,
                self.preacks)

    def suspects(self, node: str) -> bool:
        """The perfect failure detector: ``node`` has stopped."""
        return bool(self._sim.nodes[node].stable.get("halted"))

    def rank(self, node: str) -> int:
        """0 for the coordinator, then the participants in id order (backup coordinators)."""
        return 0 if node == self.coordinator else 1 + sorted((*self.cohort, self.id)).index(node)

    def backup(self) -> str | None:
        """The live participant with the smallest id, if the coordinator has stopped."""
        if not self.suspects(self.coordinator):
            return None
        live = [p for p in sorted((*self.cohort, self.id)) if p == self.id or not self.suspects(p)]
        return live[0] if live else None

    def on_start(self) -> None:
        if self.halt:
            self.set_timer(0, "halt")
        super().on_start()

    def mine(self, txid: str) -> str:
        state = self.rm.outcome(txid)
        if state == "prepared":
            return "pre-committed" if txid in self.stable["pre"] else "uncertain"
        return state or "none"

    def on_message(self, src: str, msg: Any) -> None:
        if self.stable.get("halted"):
            return
        if isinstance(msg, StateRequest):
            self.stable["rank"] = max(self.stable.get("rank", 0), self.rank(src))
            self.send(src, StateReport(msg.txid, self.mine(msg.txid)))
        elif isinstance(msg, StateReport):
            done = self.rm.outcome(msg.txid)
            if done in ("committed", "aborted"):
                self.send(src, Decision(msg.txid, done == "committed"))
                return
            if msg.txid not in self.reports:
                if self.backup() != self.id:
                    return
                self.start_termination(msg.txid)            # nudged by an in-doubt participant
            self.reports[msg.txid][src] = msg.state
            self.terminate(msg.txid)
        elif isinstance(msg, PreAck) and msg.txid in self.preacks:
            self.preacks[msg.txid].add(src)
            self.terminate(msg.txid)
        elif isinstance(msg, PreCommit) and self.rank(src) < self.stable.get("rank", 0):
            return                                 # from a coordinator this one has given up on
        elif isinstance(msg, Prepare) and self.suspects(src):
            return
        else:
            super().on_message(src, msg)

    def on_timer(self, name: str, payload: Any) -> None:
        if self.stable.get("halted"):
            return
        if name == "halt":
            self.stable["halted"] = True
            self.annotate(halted=True)
        elif name == "in-doubt":
            self._timers.pop(payload, None)
            if self.rm.outcome(payload) == "prepared":
                self.in_doubt(payload)

    def in_doubt(self, txid: str) -> None:
        """On a timeout: nothing while the coordinator lives; else, if this node is the
        backup, start (or re-evaluate) the termination protocol; then wait again."""
        backup = self.backup()
        if backup == self.id:
            if txid not in self.reports:
                self.start_termination(txid)
            self.terminate(txid)
        elif backup is not None:                 # wake the backup: it may hold no in-doubt txn
            self.stable["rank"] = max(self.stable.get("rank", 0), self.rank(backup))
            self.asked[txid] = self.asked.get(txid, 0) + 1
            self.send(backup, StateReport(txid, self.mine(txid)))
        self._doubt(txid, self.timeout_ms)

    def start_termination(self, txid: str) -> None:
        """Become the backup coordinator of ``txid``: ask every live participant."""
        self.stable["rank"] = max(self.stable.get("rank", 0), self.rank(self.id))
        self.reports[txid] = {}
        for p in self.cohort:
            if not self.suspects(p):
                self.send(p, StateRequest(txid))

    def terminate(self, txid: str) -> None:
        """TR1-TR4 over the states of the live participants (this one included)."""
        if self.rm.outcome(txid) in ("committed", "aborted") or txid not in self.reports:
            return
        live = [p for p in self.cohort if not self.suspects(p)]
        if txid in self.preacks:                                # TR4 second half: acks in
            if all(p in self.preacks[txid] for p in live):
                self.finish(txid, True)
            return
        if not all(p in self.reports[txid] for p in live):
            return
        states = {self.mine(txid), *(self.reports[txid][p] for p in live)}
        if states & {"aborted", "none"}:
            self.finish(txid, False)                             # TR1
        elif "committed" in states:
            self.finish(txid, True)                              # TR2
        elif "pre-committed" in states:                          # TR4: make everyone committable
            self.stable["pre"] = self.stable["pre"] | {txid}
            self.preacks[txid] = set()
            for p in live:
                self.send(p, PreCommit(txid))
            self.terminate(txid)
        else:
            self.finish(txid, False)                             # TR3: all uncertain

    def finish(self, txid: str, commit: bool) -> None:
        if commit:
            self.rm.commit(txid)
        else:
            self.rm.abort(txid)
        self.annotate(txid=txid, state="committed" if commit else "aborted", termination=True)
        for p in self.cohort:
            if not self.suspects(p):
                self.send(p, Decision(txid, commit))



class TimeoutRuleParticipant(FdParticipant):
    """Broken on purpose: the textbook timeout rules (:mod:`.threepc`) with the perfect
    detector but no termination protocol: on a true suspicion of the coordinator, commit if
    pre-committed, else abort."""

    def in_doubt(self, txid: str) -> None:
        if self.suspects(self.coordinator):
            ThreePCParticipant.in_doubt(self, txid)
        else:
            self._doubt(txid, self.timeout_ms)


class LatePreCommitParticipant(FdParticipant):
    """Broken on purpose: obeys a ``PreCommit`` from a coordinator it has given up on."""

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, PreCommit) and not self.stable.get("halted"):
            ThreePCParticipant.on_message(self, src, msg)
        else:
            super().on_message(src, msg)


def simulation(seed: int = 0, *, participants: int = 2, network: Any = None, halts: tuple[str, ...] = (),
               timeout_ms: float = 100.0, inquiries: int | None = None, variant: str = "correct") -> Simulation:
    """3PC with the perfect failure detector: ``c`` and ``p1..``; the ``halts`` nodes may
    stop at any point (a ``halt`` timer each). ``variant``: one of :data:`VARIANTS`."""
    if variant not in VARIANTS:
        raise allowed("variant", variant, f"one of {', '.join(VARIANTS)}")
    txid, work = transfer(participants, 10)
    ids = sorted(work)
    sim = Simulation(seed=seed, network=network)
    sim.add_node(FdCoordinator("c", [(txid, work)], timeout_ms=timeout_ms, halt="c" in halts))
    cls = VARIANTS[variant]
    for p in ids:
        sim.add_node(cls(p, "c", ids, halt=p in halts, rows={k: 100 for k, _ in work[p]},
                                   timeout_ms=timeout_ms, inquiries=inquiries))
    return sim


class FdVariant:
    """``make_sim(seed)`` for the model checker (picklable)."""

    def __init__(self, participants: int, halts: tuple[str, ...], variant: str = "correct") -> None:
        self.participants, self.halts, self.variant = participants, halts, variant

    def __call__(self, seed: int) -> Simulation:
        return simulation(seed, participants=self.participants, halts=self.halts, variant=self.variant,
                          inquiries=1)

    def __repr__(self) -> str:
        return f"FdVariant(participants={self.participants}, halts={self.halts}, variant={self.variant!r})"


def check_3pc_fd(variant: str = "correct", *, participants: int = 2, halts: tuple[str, ...] | None = None,
                 max_depth: int = 60, **options: Any) -> ExploreResult:
    """Search every interleaving (timeouts at any time, but acting only on a true
    suspicion) with the ``halts`` nodes (default: the coordinator and every participant
    but the last) able to stop at any point (each participant wakes a backup at most
    once, to keep the space finite); ``variant``: one of :data:`VARIANTS`. The engine is ``"checkpoint"``: the
    detector reads other nodes' stopped flags, which the incremental engine's contract (a
    handler sees and changes only its own node) does not allow."""
    if halts is None:
        halts = ("c", *(f"p{i}" for i in range(1, participants)))
    simulation(0, participants=participants, variant=variant)          # validate now
    options.setdefault("engine", "checkpoint")
    return explore(FdVariant(participants, tuple(halts), variant), INVARIANTS, max_depth=max_depth, **options)


VARIANTS: dict[str, type[FdParticipant]] = {"correct": FdParticipant, "timeout-rules": TimeoutRuleParticipant,
                                            "late-precommit": LatePreCommitParticipant}


def run_3pc_fd(seed: int, *, participants: int = 3, network: Any = None, horizon_ms: float = 3000.0) -> Simulation:
    """A timed run where the coordinator and all but one participant may stop, each at a
    random time in the first 20 ms (stream ``"3pc-fd-nemesis"``; a node stops with
    probability 1/2)."""
    from ..sim import lossy, stream

    rng = stream(seed, "3pc-fd-nemesis")
    sim = simulation(seed, participants=participants, network=network or lossy(drop=0.0, duplicate=0.0))
    ids = ["c", *(f"p{i}" for i in range(1, participants + 1))]
    stops = sorted((float(rng.uniform(0, 20)), n) for n in ids[:-1] if rng.random() < 0.5)
    for t, n in stops:
        sim.run(until=t)
        sim.nodes[n].stable["halted"] = True
        sim.crash(n)
    sim.run(until=horizon_ms)
    return sim


def undecided(sim: Simulation) -> list[str]:
    """Live participants still prepared (in doubt) -- blocked, if the run is over."""
    return sorted(p for o in outcomes(sim).values() for p, s in o.items()
                  if s == "prepared" and not sim.nodes[p].stable.get("halted"))


__all__ = [
    "VARIANTS",
    "FdCoordinator",
    "FdParticipant",
    "LatePreCommitParticipant",
    "StateReport",
    "StateRequest",
    "TimeoutRuleParticipant",
    "Vote",
    "check_3pc_fd",
    "run_3pc_fd",
    "simulation",
    "undecided",
]
