"""Trusted harness for exercise E4.3: Redis Cluster's PFAIL → FAIL rules, audited on traces.

The student writes three plain functions; :class:`RulesNode` plugs them into
:class:`~.node.ClusterNode` in place of its ``pfail_due``, ``update_reports`` and
``fail_quorum``, the cluster runs a scenario, and the audits of :mod:`.audit` judge the trace
(they recount failure reports from the delivered gossip; they do not trust the node).

* ``on_ping_timeout(ping_sent, now, node_timeout) -> bool`` -- PFAIL due?
* ``on_gossip(reports, sender, sender_is_master, flags, now) -> reports`` -- failure-report
  bookkeeping (``reports``: ``{reporter: time}``; ``flags``: the gossip entry's flags).
* ``should_fail(local_flag, reports, now, node_timeout, i_am_master, masters) -> bool`` --
  promotion to FAIL (``masters``: how many masters serve slots).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..checkers.trial import Trial, judged
from ..sim.rng import stream
from . import audit
from .cluster import cluster
from .node import FAIL_REPORT_VALIDITY_MULT, ClusterNode

Fn = Callable[..., Any]
TIMEOUT = 1000.0
BOUND_MS = 2.5 * TIMEOUT


class _Bad(Exception):
    pass


def _text(x: Any, limit: int = 200) -> str:
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


def rules_node(on_ping_timeout: Fn, on_gossip: Fn, should_fail: Fn) -> type[ClusterNode]:
    """A :class:`ClusterNode` whose three failure-detection rules are the student's."""

    class RulesNode(ClusterNode):
        def pfail_due(self, ping_sent: float) -> bool:
            got = on_ping_timeout(float(ping_sent), float(self.now), self.node_timeout)
            if type(got) is not bool:
                raise _Bad(f"on_ping_timeout returned {_text(got)}: expected True or False")
            return got

        def update_reports(self, reports: dict[str, float], sender: str, sender_is_master: bool,
                           flags: tuple[str, ...]) -> dict[str, float]:
            got = on_gossip(dict(reports), sender, bool(sender_is_master), list(flags), float(self.now))
            if type(got) is not dict or not all(type(k) is str and type(v) in (int, float) for k, v in got.items()):
                raise _Bad(f"on_gossip returned {_text(got)}: expected a dict {{reporter: time}}")
            if set(got) - set(reports) - {sender}:
                raise _Bad(f"on_gossip added reports from {sorted(set(got) - set(reports) - {sender})}, "
                           f"who did not send this gossip ({sender} did)")
            return {k: float(v) for k, v in got.items()}

        def fail_quorum(self, local_flag: str, reports: dict[str, float]) -> bool:
            got = should_fail(local_flag, dict(reports), float(self.now), self.node_timeout,
                              self.role == "master", len(self.masters_with_slots()))
            if type(got) is not bool:
                raise _Bad(f"should_fail returned {_text(got)}: expected True or False")
            return got

    return RulesNode


def _run(trial: Trial, body: Callable[[], None]) -> Trial:
    return judged(trial, body, _Bad)


def crash_trial(on_ping_timeout: Fn, on_gossip: Fn, should_fail: Fn, seed: int) -> Trial:
    """A master crashes: FAIL on every running node within 2.5 × NODE_TIMEOUT, never without
    a majority of masters' reports inside the window, and no other node failed."""
    trial = Trial(seed)

    def body() -> None:
        c = cluster(masters=6, replicas=1, node_timeout=TIMEOUT, seed=seed,
                    node_cls=rules_node(on_ping_timeout, on_gossip, should_fail))
        trial.trace = c.sim.trace
        victim = f"m{int(stream(seed, 'exercise:E4.3').integers(6))}"
        t0 = c.sim.now
        c.crash(victim)
        c.run(until=t0 + 4 * TIMEOUT)
        for v in audit.audit_quorum(c.sim.trace, 6, TIMEOUT) + audit.audit_bound(
                c.sim.trace, victim, t0, c.up(), BOUND_MS):
            trial.violate(v)
        others = sorted({f.about for f in audit.fail_events(c.sim.trace)} - {victim})
        if others:
            trial.violate(f"nodes that never failed were flagged FAIL: {others}")

    return _run(trial, body)


def partition_trial(on_ping_timeout: Fn, on_gossip: Fn, should_fail: Fn, seed: int) -> Trial:
    """Two masters and a replica cut off: no majority-side node is ever FAILed; the majority
    fails the minority's masters."""
    trial = Trial(seed)

    def body() -> None:
        c = cluster(masters=6, replicas=1, node_timeout=TIMEOUT, seed=seed,
                    node_cls=rules_node(on_ping_timeout, on_gossip, should_fail))
        trial.trace = c.sim.trace
        minority = ["m0", "m1", "r0"]
        majority = [n for n in c.nodes if n not in minority]
        c.partition(minority, majority)
        c.run(until=c.sim.now + 5 * TIMEOUT)
        for v in audit.audit_minority(c.sim.trace, majority) + audit.audit_quorum(c.sim.trace, 6, TIMEOUT):
            trial.violate(v)
        if c.view("m3", "m0") != "FAIL":
            trial.violate("the majority side (4 of 6 masters) never flagged the cut-off master m0 FAIL")

    return _run(trial, body)


def pause_trial(on_ping_timeout: Fn, on_gossip: Fn, should_fail: Fn, seed: int) -> Trial:
    """A master paused for 0.6 × NODE_TIMEOUT, five times: never FAILed."""
    trial = Trial(seed)

    def body() -> None:
        c = cluster(masters=3, replicas=1, node_timeout=TIMEOUT, seed=seed,
                    node_cls=rules_node(on_ping_timeout, on_gossip, should_fail))
        trial.trace = c.sim.trace
        for _ in range(5):
            c.sim.pause("m1", 0.6 * TIMEOUT)
            c.run(until=c.sim.now + TIMEOUT)
        bad = [f for f in audit.fail_events(c.sim.trace) if f.about == "m1"]
        if bad:
            trial.violate(f"{bad[0].node} flagged m1 FAIL at {bad[0].time:g} ms, though m1 was only ever "
                          f"paused for 0.6 × NODE_TIMEOUT")

    return _run(trial, body)


def expiry_trial(should_fail: Fn, seed: int) -> Trial:
    """should_fail on random report sets: reports older than 2 × NODE_TIMEOUT do not count."""
    trial = Trial(seed)
    rng = stream(seed, "exercise:E4.3:expiry")
    for _ in range(60):
        masters = int(rng.integers(3, 10))
        now = 10_000.0
        reports = {f"m{i}": float(now - rng.uniform(0, 3 * TIMEOUT)) for i in range(masters) if rng.random() < 0.7}
        me = bool(rng.random() < 0.5)
        flag = "PFAIL" if rng.random() < 0.85 else str(rng.choice(["ok", "FAIL"]))
        valid = sum(1 for t in reports.values() if now - t <= TIMEOUT * FAIL_REPORT_VALIDITY_MULT)
        want = flag == "PFAIL" and valid + me >= masters // 2 + 1
        got = should_fail(flag, dict(reports), now, TIMEOUT, me, masters)
        if got is not want:
            ages = {m: round(now - t, 1) for m, t in reports.items()}
            return trial.fail(f"should_fail({flag!r}, reports, now={now:g}, node_timeout={TIMEOUT:g}, "
                              f"i_am_master={me}, masters={masters}) returned {got!r}, expected {want!r}: "
                              f"the reports' ages are {ages} ms, {valid} of them within "
                              f"{TIMEOUT * FAIL_REPORT_VALIDITY_MULT:g} ms, and a majority of {masters} masters "
                              f"is {masters // 2 + 1}")
    return trial
