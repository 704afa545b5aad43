"""Trusted harnesses for E14.1 (2PC with recovery) and E14.2 (the 3PC termination protocol).

The student's code is plain functions of plain data; the harness runs them inside
:mod:`dscourse.sim` nodes, crashes nodes at chosen points and watches every durable write, and
returns a :class:`~dscourse.checkers.trial.Trial` (seed, trace, one violation listing *every*
failed schedule, so a student sees all of them at once).

* E14.1 ``coordinator(log, state, event)`` and ``participant(log, state, event)``, each
  returning ``[state, actions]``: a 2PC node as a step function (Gray 1978, §5.8.3.3; Mohan,
  Lindsay & Obermarck 1986, §2 for presumed abort). ``log`` is the node's durable log (a list
  of records, read-only: append with a ``["log", record]`` action), ``state`` its volatile
  memory (``{}`` after a crash). Every run crashes one or two nodes right after one of their
  steps (a log write or a send): every step of the crash-free run, one schedule each, plus
  random double crashes, each node recovering after 20-400 ms.
* E14.2 ``terminate(states) -> "commit" | "abort" | "precommit"``: the backup coordinator's
  rule of 3PC's termination protocol (Skeen, "Nonblocking Commit Protocols", SIGMOD 1981,
  the central-site termination protocol; Bernstein, Hadzilacos & Goodman 1987, §7.5), run by
  trusted 3PC nodes under crash-only nemeses with a perfect failure detector; then under a
  partition, where the harness finds the atomicity violation. ``partition_answer()`` is the
  student's structured answer about it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import ConfigError
from ..sim import Node, Simulation, Uniform, reliable, stream

Fn = Callable[..., Any]
MAX_CALLS = 4000          # student calls per run: a node that loops on 1 ms timers is refused
MAX_ACTIONS = 50          # actions per call


def _plain(x: Any, what: str, depth: int = 0) -> Any:
    """``x`` as JSON-like plain data (tuples become lists), or a ConfigError naming ``what``."""
    if depth > 12:
        raise ConfigError(f"{what} is nested too deeply (at most 12 levels)")
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) in (list, tuple):
        return [_plain(v, what, depth + 1) for v in x]
    if type(x) is dict and all(type(k) is str for k in x):
        return {k: _plain(v, what, depth + 1) for k, v in x.items()}
    raise ConfigError(f"{what} holds {type(x).__name__} {str(x)[:60]!r}: expected plain data "
                      "(None, bool, int, float, str, lists, dicts with str keys)")


def _report(trial: Trial, failures: list[str], runs: int, noun: str = "schedules",
            replay: str | None = None) -> Trial:
    """One violation listing every failed run (at most 8 shown), and the line that replays the
    first one step by step if ``replay``."""
    if failures:
        shown = failures[:8]
        more = [f"  ... and {len(failures) - 8} more"] if len(failures) > 8 else []
        tail = [f"replay the first one step by step: {replay}"] if replay is not None else []
        trial.violate("\n".join([f"{len(failures)} of {runs} {noun} failed:",
                                 *(f"  - {f}" for f in shown), *more, *tail]), trial.at)
    return trial


# == E14.1: 2PC as step functions ===============================================================
TWO_PC_PROPERTIES = ("atomicity", "no abort after yes", "resolved")
PARTICIPANT_RECORDS = ("prepared", "committed", "aborted")
TXNS = (("t1", ("p1", "p2", "p3")), ("t2", ("p2", "p3")))
LATENCY = Uniform(1.0, 10.0)


class Plan:
    """One schedule: ``crash`` maps a node to the step (a log write or a send, 1-based,
    counted over the whole run) after which it crashes, ``recover_ms`` its downtime; ``ok`` the local outcome of each
    participant's work (False: it must vote no). The run's observations accumulate here."""

    def __init__(self, crash: dict[str, int], recover_ms: dict[str, float], ok: dict[tuple[str, str], bool]):
        self.crash, self.recover_ms, self.ok = crash, recover_ms, ok
        self.writes: dict[str, int] = {}
        self.calls = 0
        self.problems: dict[str, list[str]] = {p: [] for p in TWO_PC_PROPERTIES}
        self.yes: dict[str, set[str]] = {}                   # txid -> participants that voted yes
        self.prepared_at: dict[tuple[str, str], float] = {}  # (participant, txid) -> ms
        self.blocking: list[float] = []                      # ms from prepared to a decision

    def describe(self) -> str:
        if not self.crash:
            return "no crash"
        return ", ".join(f"{n} crashes after its step #{k} (down {self.recover_ms[n]:g} ms)"
                         for n, k in sorted(self.crash.items()))


def state_of(log: list[Any], txid: str) -> str | None:
    """A participant's state of ``txid``: its last record for it (None: no record)."""
    s = None
    for r in log:
        if r[1] == txid:
            s = r[0]
    return s


class StepNode(Node):
    """A node whose behaviour is a student's step function (see the module docstring)."""

    def __init__(self, id: str, step: Fn, plan: Plan, role: str) -> None:
        super().__init__(id)
        self.step, self.plan, self.role = step, plan, role
        self.mem: Any = {}

    def on_start(self) -> None:
        self.stable.setdefault("log", [])
        if self.role == "coordinator":
            for txid, parts in TXNS:
                if not self.run(["begin", txid, list(parts)]):
                    return                      # crashed at one of this event's steps

    def on_recover(self) -> None:
        self.run(["recover"])

    def on_message(self, src: str, msg: Any) -> None:
        msg = _plain(msg, "message")
        if self.role == "participant" and msg[0] == "prepare":
            if (self.id, msg[1]) not in self.plan.ok:
                raise ConfigError(f"the coordinator sent {msg!r} to {self.id}: expected a prepare of one of "
                                  f"its transactions, {sorted(t for p, t in self.plan.ok if p == self.id)}")
            self.run(["prepare", msg[1], self.plan.ok[(self.id, msg[1])]])
        else:
            self.run(["msg", src, msg])

    def on_timer(self, name: str, payload: Any) -> None:
        self.run(["timeout", payload])

    def run(self, event: list[Any]) -> bool:
        """Call the step function on ``event`` and perform its actions (False: crashed)."""
        plan = self.plan
        plan.calls += 1
        if plan.calls > MAX_CALLS:
            raise ConfigError(f"more than {MAX_CALLS} calls in one run: check your timers "
                              "(a timer that re-arms itself every few ms never lets the run end)")
        log = [list(r) for r in self.stable["log"]]
        res = self.step(log, _plain(self.mem, "state"), list(event))
        if type(res) not in (list, tuple) or len(res) != 2 or type(res[1]) not in (list, tuple) \
                or type(res[0]) is not dict:
            raise ConfigError(f"{self.role}(log, state, {event!r}) returned {str(res)[:80]}: "
                              "expected [state (a dict), actions (a list)]")
        self.mem = _plain(res[0], "the state you returned")
        actions = _plain(res[1], "the actions you returned")
        if len(actions) > MAX_ACTIONS:
            raise ConfigError(f"{len(actions)} actions for one event: at most {MAX_ACTIONS}")
        return all(self.act(a, event) for a in actions)     # stops at a crash

    def act(self, a: Any, event: list[Any]) -> bool:
        """Perform one action; False once the node has crashed at this point."""
        nodes = ("c", "p1", "p2", "p3")
        if type(a) is not list or not a or a[0] not in ("log", "send", "timer"):
            raise ConfigError(f"action {str(a)[:80]}: expected ['log', record], ['send', node, "
                              "message] or ['timer', txid, delay_ms]")
        if a[0] == "send":
            if len(a) != 3 or a[1] not in nodes or a[1] == self.id or type(a[2]) is not list \
                    or len(a[2]) < 2 or type(a[2][0]) is not str:
                raise ConfigError(f"action {str(a)[:80]}: expected ['send', node, [kind, txid, ...]] "
                                  f"to another of {nodes}")
            if self.role == "participant" and a[2][0] == "vote" and len(a[2]) == 3 and a[2][2] is True:
                txid = a[2][1]
                if state_of(self.stable["log"], txid) not in ("prepared", "committed"):
                    self.plan.problems["no abort after yes"].append(
                        f"{self.id} voted yes on {txid} at {self.now:g} ms without a durable "
                        "'prepared' record: a crash now forgets the promise")
                self.plan.yes.setdefault(txid, set()).add(self.id)
            self.send(a[1], tuple(a[2]))
            return self.crash_point()
        elif a[0] == "timer":
            if len(a) != 3 or type(a[2]) not in (int, float) or not 5 <= a[2] <= 5000:
                raise ConfigError(f"action {str(a)[:80]}: expected ['timer', txid, delay_ms] with "
                                  "5 <= delay_ms <= 5000")
            self.set_timer(a[2], "timeout", _plain(a[1], "a timer's txid"))
        else:
            if len(a) != 2 or type(a[1]) is not list or not a[1] or type(a[1][0]) is not str:
                raise ConfigError(f"action {str(a)[:80]}: expected ['log', [kind, ...]]")
            rec = a[1]
            if self.role == "participant":
                self.check_record(rec, event)
            self.stable["log"] = [*self.stable["log"], rec]
            return self.crash_point()
        return True

    def crash_point(self) -> bool:
        """Count a step (a log write or a send); crash here if the plan says so (False)."""
        n = self.plan.writes[self.id] = self.plan.writes.get(self.id, 0) + 1
        if self.plan.crash.get(self.id) != n:
            return True
        sim = self._sim
        sim.nodes["operator"].set_timer(self.plan.recover_ms[self.id], "recover", self.id)
        sim.crash(self.id)          # here, mid-handler: the rest of this event's actions are lost
        return False

    def check_record(self, rec: list[Any], event: list[Any]) -> None:
        """Judge a participant's log write against the 2PC rules."""
        known = dict(TXNS)
        if len(rec) != 2 or rec[0] not in PARTICIPANT_RECORDS or rec[1] not in known:
            raise ConfigError(f"{self.id}'s log record {str(rec)[:60]}: expected [kind, txid] with kind "
                              f"in {PARTICIPANT_RECORDS} and txid in {sorted(known)}")
        kind, txid = rec
        plan, now = self.plan, self.now
        before = state_of(self.stable["log"], txid)
        if before in ("committed", "aborted") and kind != before:
            plan.problems["atomicity"].append(f"{self.id} changed its mind on {txid}: {before}, then {kind} "
                                              f"at {now:g} ms")
            return
        wanted = "commit" if kind == "committed" else "abort"
        decision = event[0] == "msg" and event[2][0] == wanted and event[2][1] == txid
        if kind == "prepared" and before is None and not (event[0] == "prepare" and event[2]):
            plan.problems["no abort after yes"].append(
                f"{self.id} logged 'prepared' on {txid} at {now:g} ms although its local work failed "
                "(it must vote no)" if event[0] == "prepare" else
                f"{self.id} logged 'prepared' on {txid} at {now:g} ms outside a prepare event")
        if kind == "prepared" and before is None:
            plan.prepared_at[(self.id, txid)] = now
        if kind == "committed" and before != "committed":
            if not decision:
                plan.problems["atomicity"].append(f"{self.id} committed {txid} at {now:g} ms without "
                                                  "receiving a commit decision")
            if before != "prepared":
                plan.problems["atomicity"].append(f"{self.id} committed {txid} at {now:g} ms without having "
                                                  "prepared it")
        if kind == "aborted" and before == "prepared" and not decision:
            plan.problems["no abort after yes"].append(
                f"{self.id} aborted {txid} at {now:g} ms after voting yes, on {event[0]!r} "
                "without an abort decision")
        if kind in ("committed", "aborted") and before == "prepared" and (self.id, txid) in plan.prepared_at:
            plan.blocking.append(now - plan.prepared_at.pop((self.id, txid)))


class Operator(Node):
    """The harness's hand, not a protocol node: it recovers a crashed node when its downtime
    is over (crashes happen inside handlers, at a step, so they are not a nemesis schedule)."""

    def on_timer(self, name: str, payload: Any) -> None:
        self._sim.recover(payload)


def _two_pc_checks(sim: Simulation, plan: Plan) -> None:
    """Atomicity and commit validity across participants, resolution at the end."""
    outcome: dict[str, dict[str, str | None]] = {}
    for txid, parts in TXNS:
        outcome[txid] = {p: state_of(sim.nodes[p].stable.get("log", []), txid) for p in parts}
        got = outcome[txid]
        if "committed" in got.values() and "aborted" in got.values():
            plan.problems["atomicity"].append(
                f"{txid} committed at {sorted(p for p, s in got.items() if s == 'committed')} and aborted at "
                f"{sorted(p for p, s in got.items() if s == 'aborted')}")
        elif "committed" in got.values() and plan.yes.get(txid, set()) != set(parts):
            plan.problems["atomicity"].append(f"{txid} committed although only {sorted(plan.yes.get(txid, ()))} "
                                              f"of {list(parts)} voted yes")
        stuck = sorted(p for p, s in got.items() if s == "prepared")
        if stuck:
            plan.problems["resolved"].append(f"{txid} still in doubt at {stuck} at {sim.now:g} ms, after "
                                             "every crashed node had recovered")
    for at in plan.prepared_at.values():
        plan.blocking.append(sim.now - at)


def two_pc_run(coordinator: Fn, participant: Fn, seed: int, plan: Plan,
               horizon_ms: float = 3000.0) -> Simulation:
    """One run of ``TXNS`` under ``plan``; its problems are in ``plan.problems``."""
    sim = Simulation(seed=seed, network=reliable(latency=LATENCY))
    sim.add_node(Operator("operator"))
    sim.add_node(StepNode("c", coordinator, plan, "coordinator"))
    for p in ("p1", "p2", "p3"):
        sim.add_node(StepNode(p, participant, plan, "participant"))
    sim.run(until=horizon_ms)
    _two_pc_checks(sim, plan)
    return sim


def _votes(rng: Any) -> dict[tuple[str, str], bool]:
    return {(p, txid): bool(rng.random() < 0.8) for txid, parts in TXNS for p in parts}


def two_pc_schedules(coordinator: Fn, participant: Fn, seed: int, doubles: int = 8) -> list[Plan]:
    """Every step of the crash-free run, log write or send (one crash each), plus ``doubles``
    random double crashes (the coordinator and a participant)."""
    rng = stream(seed, "E14.1")
    ok = _votes(rng)
    base = Plan({}, {}, ok)
    two_pc_run(coordinator, participant, seed, base)
    plans = [base]
    for node in ("c", "p1", "p2", "p3"):
        for k in range(1, base.writes.get(node, 0) + 1):
            plans.append(Plan({node: k}, {node: float(rng.integers(20, 400))}, ok))
    cw = base.writes.get("c", 0)
    for _ in range(doubles if cw else 0):
        p = ("p1", "p2", "p3")[int(rng.integers(3))]
        pw = max(1, base.writes.get(p, 0))
        plans.append(Plan({"c": int(rng.integers(1, cw + 1)), p: int(rng.integers(1, pw + 1))},
                          {"c": float(rng.integers(20, 400)), p: float(rng.integers(20, 400))}, ok))
    return plans


def two_pc_trial(coordinator: Fn, participant: Fn, seed: int, *,
                 properties: Iterable[str] = TWO_PC_PROPERTIES) -> Trial:
    """E14.1: run every schedule of :func:`two_pc_schedules` and judge ``properties``:

    ``atomicity``: no transaction committed at one participant and aborted at another, a
    commit only after a commit decision and only if every participant voted yes, and no
    participant changes a decision; ``no abort after yes``: a participant votes yes only
    after logging 'prepared' and then aborts only on an abort decision; ``resolved``: after
    every crashed node recovered, no participant is left in doubt. ``facts['blocking_ms']``
    is the longest time a participant spent prepared without a decision."""
    props = selected(properties, TWO_PC_PROPERTIES)
    trial = Trial(seed)
    try:
        plans = two_pc_schedules(coordinator, participant, seed)
    except ConfigError as exc:
        return trial.fail(f"unusable answer in the crash-free run: {exc}")
    failures: list[str] = []
    blocking: list[float] = []
    for i, plan in enumerate(plans):
        if i:
            try:
                sim = two_pc_run(coordinator, participant, seed, plan)
            except ConfigError as exc:
                failures.append(f"{plan.describe()}: unusable answer: {exc}")
                continue
        else:
            sim = None
        blocking += plan.blocking
        found = [f"{p}: {plan.problems[p][0]}" for p in props if plan.problems[p]]
        if found:
            if not failures:
                if sim is None:
                    sim = two_pc_run(coordinator, participant, seed, Plan({}, {}, plan.ok))
                trial.trace = sim.trace
            failures.append(f"{plan.describe()}: " + "; ".join(found))
    trial.facts.update(schedules=len(plans), blocking_ms=max(blocking, default=0.0),
                       mean_blocking_ms=sum(blocking) / len(blocking) if blocking else 0.0)
    _report(trial, failures, len(plans))
    if failures:
        trial.violations[0] += (f"\n(longest time a participant stayed prepared without a decision: "
                                f"{trial.facts['blocking_ms']:g} ms)")
    return trial


def blocking_report(coordinator: Fn, participant: Fn, seeds: Iterable[int] = (1, 2, 3)) -> str:
    """How long participants stayed in doubt (prepared, holding their locks) over every
    schedule of ``seeds``: what 2PC's blocking costs with your recovery."""
    try:
        lines = []
        for s in seeds:
            t = two_pc_trial(coordinator, participant, s)
            lines.append(f"seed {s}: {t.facts.get('schedules', 0)} schedules, longest in doubt "
                         f"{t.facts.get('blocking_ms', 0):g} ms, mean {t.facts.get('mean_blocking_ms', 0):.1f} ms"
                         + ("" if t.ok else " (some schedules fail: see the check)"))
        return "\n".join(lines)
    except NotImplementedError:
        return "not implemented yet: write coordinator and participant first"


# == E14.2: 3PC's termination protocol ==========================================================
THREE_PC_PROPERTIES = ("atomicity", "non-blocking")
STATES = ("initial", "aborted", "prepared", "precommitted", "committed")
DECISIONS = ("commit", "abort", "precommit")
FINAL = ("committed", "aborted")
PARTS = ("p1", "p2", "p3")
FD_MS = 10.0           # the failure detector's period


class ThreePlan:
    """A 3PC schedule: crash ``crash[node]`` after that node's k-th step (a step: one durable
    state change or one send); ``partition_after``: cut {c, p1} from {p2, p3} after the
    coordinator's k-th step. Observations accumulate in ``problems``."""

    def __init__(self, votes: dict[str, bool], crash: dict[str, int] | None = None,
                 partition_after: int | None = None):
        self.votes, self.crash = votes, dict(crash or {})
        self.partition_after = partition_after
        self.steps: dict[str, int] = {}
        self.problems: dict[str, list[str]] = {p: [] for p in THREE_PC_PROPERTIES}
        self.calls = 0

    def describe(self) -> str:
        parts = [f"{n} crashes after its step #{k}" for n, k in sorted(self.crash.items())]
        if self.partition_after is not None:
            parts.append(f"partition {{c, p1}} | {{p2, p3}} after c's step #{self.partition_after}")
        no = sorted(p for p, v in self.votes.items() if not v)
        parts.append(f"votes no: {no}" if no else "all vote yes")
        return ", ".join(parts)


class _ThreePC(Node):
    """Shared: the perfect failure detector (an oracle polled every ``FD_MS``: a node is
    suspected once crashed or, under a partition, once unreachable) and crash points."""

    def __init__(self, id: str, plan: ThreePlan, terminate: Fn | None = None) -> None:
        super().__init__(id)
        self.plan, self.terminate = plan, terminate
        self.suspected: set[str] = set()

    def on_start(self) -> None:
        self.stable.setdefault("state", "initial")
        self.set_timer(FD_MS, "fd")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "fd":
            sim = self._sim
            now = {n for n in sim.nodes if n != self.id and
                   (sim.status(n) == "crashed" or (self.id, n) in sim.blocked)}
            new = now - self.suspected
            self.suspected |= now
            self.set_timer(FD_MS, "fd")
            if new:
                self.on_suspect()
        else:
            self.timer(name, payload)

    def on_suspect(self) -> None: ...

    def timer(self, name: str, payload: Any) -> None: ...

    def stepped(self) -> bool:
        """Count one step; crash (or partition) here if the plan says so. False: crashed."""
        plan = self.plan
        n = plan.steps[self.id] = plan.steps.get(self.id, 0) + 1
        sim = self._sim
        if self.id == "c" and plan.partition_after == n:
            sim.partition(["c", "p1"], ["p2", "p3"])
        if plan.crash.get(self.id) == n:
            sim.crash(self.id)       # for good: crash-only (fail-stop)
            return False
        return True

    def live_parts(self) -> list[str]:
        return [p for p in PARTS if p not in self.suspected]


class ThreePCCoordinatorNode(_ThreePC):
    """Skeen's central-site coordinator: votes; PreCommit one participant per step; commit
    once every live participant acknowledged (a suspected one has crashed, so it is left out)."""

    def __init__(self, id: str, plan: ThreePlan, terminate: Fn | None = None) -> None:
        super().__init__(id, plan, terminate)
        self.votes: dict[str, bool] = {}
        self.acks: set[str] = set()
        self.queue: list[tuple[str, str]] = []

    def on_start(self) -> None:
        super().on_start()
        for p in PARTS:
            self.send(p, ("can-commit",))
        if self.stepped():
            self.annotate(phase="can-commit")

    def on_message(self, src: str, msg: Any) -> None:
        if self.stable["state"] in FINAL:
            return
        if msg[0] == "vote":
            self.votes[src] = msg[1]
            if not msg[1]:
                self.decide("abort")
            else:
                self.check()
        elif msg[0] == "pre-ack":
            self.acks.add(src)
            self.check()

    def on_suspect(self) -> None:
        if self.stable["state"] not in FINAL:
            self.check()

    def check(self) -> None:
        st = self.stable["state"]
        live = self.live_parts()
        if st == "initial" and any(p in self.suspected and p not in self.votes for p in PARTS):
            self.decide("abort")                 # a participant crashed before voting
        elif st == "initial" and all(self.votes.get(p) for p in PARTS):
            self.stable["state"] = "precommitted"
            self.queue = [("pre-commit", p) for p in live]
            self.set_timer(0, "send")
        elif st == "precommitted" and not self.queue and set(live) <= self.acks:
            self.decide("commit")

    def decide(self, d: str) -> None:
        self.stable["state"] = "committed" if d == "commit" else "aborted"
        self.annotate(decision=d)
        self.queue = [(d, p) for p in PARTS]
        self.set_timer(0, "send")

    def timer(self, name: str, payload: Any) -> None:
        if name == "send" and self.queue:
            kind, p = self.queue.pop(0)
            self.send(p, (kind,))
            if not self.stepped():
                return
            if self.queue:
                self.set_timer(0, "send")
            elif self.stable["state"] == "precommitted":
                self.check()


class ThreePCParticipantNode(_ThreePC):
    """A 3PC participant with the termination protocol: once the coordinator is suspected,
    the live participant with the lowest id is the backup; it collects the live participants'
    states, asks ``terminate(states)``, and carries the answer out (a ``precommit`` round first
    if asked, then asks again); a suspected backup is replaced by the next one. A participant
    that has answered a backup ignores PreCommit from anyone else: a late PreCommit of a
    crashed coordinator or backup, delivered after the new backup read this participant's
    state, would otherwise let a later backup commit what the new backup decided to abort
    (Bernstein, Hadzilacos & Goodman 1987, §7.5)."""

    def __init__(self, id: str, plan: ThreePlan, terminate: Fn | None = None) -> None:
        super().__init__(id, plan, terminate)
        self.round = 0
        self.replies: dict[str, str] = {}
        self.waiting: set[str] = set()
        self.queue: list[tuple[str, str]] = []
        self.rounds = 0
        self.leader = "c"           # whose PreCommit counts: the coordinator, then the backup answered

    def set_state(self, s: str) -> bool:
        old = self.stable["state"]
        if old in FINAL and s != old:
            self.plan.problems["atomicity"].append(f"{self.id} changed its mind: {old}, then {s} at {self.now:g} ms")
            return True
        if old != s:
            self.stable["state"] = s
            self.annotate(state=s)
            return self.stepped()
        return True

    def on_message(self, src: str, msg: Any) -> None:
        kind = msg[0]
        st = self.stable["state"]
        if kind == "can-commit" and st == "initial":
            yes = self.plan.votes[self.id]
            if self.set_state("prepared" if yes else "aborted"):
                self.send(src, ("vote", yes))
        elif kind == "pre-commit" and st in ("prepared", "precommitted") and src == self.leader:
            if self.set_state("precommitted"):
                self.send(src, ("pre-ack",))
        elif kind in ("commit", "abort"):
            self.set_state("committed" if kind == "commit" else "aborted")
        elif kind == "state-req":
            self.leader = src       # from now on, a late PreCommit of an earlier coordinator is ignored
            self.send(src, ("state", msg[1], st))
        elif kind == "state" and msg[1] == self.round and src in self.waiting:
            self.replies[src] = msg[2]
            self.waiting.discard(src)
            self.collected()

    def backup(self) -> str | None:
        return min(self.live_parts()) if "c" in self.suspected else None

    def on_suspect(self) -> None:
        if self.backup() == self.id and self.terminate is not None:
            self.start_round()
        elif self.waiting:
            self.waiting -= self.suspected
            self.collected()

    def start_round(self) -> None:
        self.leader = self.id
        self.round += 1
        self.replies = {self.id: self.stable["state"]}
        self.waiting = {p for p in self.live_parts() if p != self.id}
        self.queue = []
        for p in sorted(self.waiting):
            self.send(p, ("state-req", self.round))
        self.collected()

    def collected(self) -> None:
        if self.waiting or self.queue or self.terminate is None:
            return
        self.rounds += 1
        if self.rounds > 6:
            self.plan.problems["non-blocking"].append(f"{self.id} ran 6 termination rounds without a decision "
                                                      f"(states {self.replies})")
            return
        states = {p: s for p, s in sorted(self.replies.items()) if p not in self.suspected}
        self.plan.calls += 1
        d = self.terminate(dict(states))
        if d not in DECISIONS:
            if d is None or d == "wait":
                return                              # blocks: judged by non-blocking
            raise ConfigError(f"terminate({states}) returned {str(d)[:40]!r}: expected one of {DECISIONS}")
        self.annotate(backup=self.id, terminate=d)
        if d == "precommit":
            if self.stable["state"] == "prepared" and not self.set_state("precommitted"):
                return
            self.queue = [("pre-commit", p) for p, s in states.items() if p != self.id]
        else:
            if not self.set_state("committed" if d == "commit" else "aborted"):
                return
            self.queue = [(d, p) for p in states if p != self.id]
        self.set_timer(0, "send", d)

    def timer(self, name: str, payload: Any) -> None:
        if name == "send" and self.queue:
            kind, p = self.queue.pop(0)
            self.send(p, (kind,))
            if not self.stepped():
                return
            if self.queue:
                self.set_timer(0, "send", payload)
            elif payload == "precommit":
                self.set_timer(30, "again")
        elif name == "again" and self.backup() == self.id:
            self.start_round()


def three_pc_run(terminate: Fn, seed: int, plan: ThreePlan, horizon_ms: float = 1500.0) -> Simulation:
    """One 3PC run under ``plan``; atomicity and non-blocking judged into ``plan.problems``."""
    sim = Simulation(seed=seed, network=reliable(latency=LATENCY))
    sim.add_node(ThreePCCoordinatorNode("c", plan))
    for p in PARTS:
        sim.add_node(ThreePCParticipantNode(p, plan, terminate))
    sim.run(until=horizon_ms)
    states = {p: sim.nodes[p].stable.get("state") for p in ("c", *PARTS)}
    if "committed" in states.values() and "aborted" in states.values():
        plan.problems["atomicity"].append(
            f"committed at {sorted(n for n, s in states.items() if s == 'committed')}, aborted at "
            f"{sorted(n for n, s in states.items() if s == 'aborted')}")
    undecided = sorted(p for p in PARTS if sim.status(p) != "crashed" and states[p] not in FINAL)
    if undecided and plan.partition_after is None:
        plan.problems["non-blocking"].append(f"{undecided} still undecided at {horizon_ms:g} ms "
                                             f"(states {states})")
    return sim


def three_pc_schedules(terminate: Fn, seed: int) -> list[ThreePlan]:
    """Crash-only schedules: the coordinator crashes after each of its steps; with it, the
    first backup (p1) after each of its first four steps, or a random participant at a random
    step."""
    rng = stream(seed, "E14.2")
    votes = {p: bool(rng.random() < 0.8) for p in PARTS}
    base = ThreePlan(votes)
    three_pc_run(terminate, seed, base)
    plans = [base]
    for k in range(1, base.steps.get("c", 0) + 1):
        plans.append(ThreePlan(votes, {"c": k}))
        plans += [ThreePlan(votes, {"c": k, "p1": j}) for j in range(1, 5)]
        other = PARTS[int(rng.integers(1, 3))]
        plans.append(ThreePlan(votes, {"c": k, other: int(rng.integers(1, 4))}))
    return plans


def three_pc_trial(terminate: Fn, seed: int, *, properties: Iterable[str] = THREE_PC_PROPERTIES) -> Trial:
    """E14.2 under crash-only schedules with a perfect failure detector: ``atomicity`` (no
    node commits while another aborts, no decision changes) and ``non-blocking`` (every live
    participant decides, though the coordinator is gone for good)."""
    props = selected(properties, THREE_PC_PROPERTIES)
    trial = Trial(seed)
    try:
        plans = three_pc_schedules(terminate, seed)
    except ConfigError as exc:
        return trial.fail(f"unusable answer: {exc}")
    failures = []
    for plan in plans:
        try:
            sim = three_pc_run(terminate, seed, plan)
        except ConfigError as exc:
            failures.append(f"{plan.describe()}: unusable answer: {exc}")
            continue
        found = [f"{p}: {plan.problems[p][0]}" for p in props if plan.problems[p]]
        if found:
            if not failures:
                trial.trace, trial.at = sim.trace, None
            failures.append(f"{plan.describe()}: " + "; ".join(found))
    return _report(trial, failures, len(plans))


def reference_terminate(states: dict[str, str]) -> str:
    """Skeen's termination rule (the harness's fallback for the partition run)."""
    seen = set(states.values())
    if seen & {"aborted", "initial"}:
        return "abort"
    if "committed" in seen or seen == {"precommitted"}:
        return "commit"
    return "precommit" if "precommitted" in seen else "abort"


def partition_search(terminate: Fn, seed: int = 0) -> tuple[ThreePlan | None, Simulation | None]:
    """The grader's search: all vote yes; partition {c, p1} | {p2, p3} after each of the
    coordinator's steps in turn; the first schedule that breaks atomicity (None if none)."""
    votes = {p: True for p in PARTS}
    base = ThreePlan(votes)
    three_pc_run(terminate, seed, base)
    for k in range(1, base.steps.get("c", 0) + 1):
        plan = ThreePlan(votes, partition_after=k)
        sim = three_pc_run(terminate, seed, plan)
        if plan.problems["atomicity"]:
            return plan, sim
    return None, None


ASSUMPTIONS = {
    "durable-log": "every node force-writes its state before it answers",
    "perfect-failure-detector": "a node is suspected only after it has crashed",
    "unanimous-vote": "the coordinator commits only if every participant votes yes",
    "idempotent-messages": "a duplicated message has no further effect",
    "fifo-links": "messages between two nodes arrive in the order sent",
}
REMEDIES = {
    "longer-timeouts": "wait longer before suspecting a node",
    "quorum": "decide only with a majority of participants (quorum-based 3PC, E3PC, Paxos Commit)",
    "log-before-send": "force-write each state before sending the message that reveals it",
    "retry-forever": "keep re-sending PreCommit until every participant acknowledges",
}
ANSWER_PROPERTIES = ("format", "assumption", "run", "remedy")
# the key as digests, so the grader's source does not print it (five options each: a student
# who hashes them all can still find it; the tests that use it are hidden)
_KEY = {"assumption": "a5ae7262cc47aac0", "remedy": "f529eb224650edb5"}


def _digest(part: str, value: Any) -> str:
    return hashlib.sha256(f"E14.2/{part}/{value}".encode()).hexdigest()[:16]


def partition_answer_trial(answer: Fn, terminate: Fn, *,
                           properties: Iterable[str] = ANSWER_PROPERTIES) -> Trial:
    """E14.2's structured answer ``answer() -> {"assumption": key, "committed": [...],
    "aborted": [...], "remedy": key}`` about the harness's partition counterexample (found
    with the student's own ``terminate``): ``assumption`` is the one 3PC relies on that the
    partition breaks, ``run`` the nodes (c, p1..p3) that committed and aborted in that run,
    ``remedy`` the design that stays atomic under partitions; ``format`` checks the shape only."""
    props = selected(properties, ANSWER_PROPERTIES)
    trial = Trial(0)
    got = _plain(answer(), "partition_answer()")
    keys = {"assumption", "committed", "aborted", "remedy"}
    if type(got) is not dict or set(got) != keys:
        return trial.fail(f"partition_answer() returned {str(got)[:100]}: expected a dict with exactly the keys "
                          f"{sorted(keys)}")
    for k in ("committed", "aborted"):
        if type(got[k]) is not list or not all(n in ("c", *PARTS) for n in got[k]):
            return trial.fail(f"partition_answer()[{k!r}] = {got[k]!r}: expected a list of node ids from "
                              "c, p1, p2, p3")
    problems = []
    if "assumption" in props and _digest("assumption", got["assumption"]) != _KEY["assumption"]:
        problems.append("assumption: " + (f"{got['assumption']!r} is not one of {sorted(ASSUMPTIONS)}"
                        if got["assumption"] not in ASSUMPTIONS else
                        f"{got['assumption']!r} ({ASSUMPTIONS[got['assumption']]}) still holds in the "
                        "counterexample; which assumption lets p2 and p3 treat a live node as crashed?"))
    if "remedy" in props and _digest("remedy", got["remedy"]) != _KEY["remedy"]:
        problems.append("remedy: " + (f"{got['remedy']!r} is not one of {sorted(REMEDIES)}"
                        if got["remedy"] not in REMEDIES else
                        f"{got['remedy']!r} ({REMEDIES[got['remedy']]}) leaves the same split possible: "
                        "each side still decides on its own"))
    if "run" in props:
        plan, sim = partition_search(terminate)
        if sim is None:                       # the student's rule shows none: the textbook rule's run
            plan, sim = partition_search(reference_terminate)
        if sim is not None:
            trial.trace = sim.trace
            states = {n: sim.nodes[n].stable.get("state") for n in ("c", *PARTS)}
            want = ([n for n, s in states.items() if s == "committed"],
                    [n for n, s in states.items() if s == "aborted"])
            if (sorted(got["committed"]), sorted(got["aborted"])) != want:
                problems.append(f"run: you said committed {sorted(got['committed'])}, aborted "
                                f"{sorted(got['aborted'])}; "
                                f"replay the counterexample ({plan.describe() if plan else ''}) and read the "
                                "final states")
    if problems:
        graded = len([p for p in props if p != "format"])
        trial.violate(f"{len(problems)} of {graded} parts are wrong:\n" + "\n".join(f"  - {p}" for p in problems))
    return trial
