"""Trusted harnesses for Chapter 3's exercise E3.2 (multi-writer ABD), run by the grader.

The student writes the two decisions of an ABD client (Attiya, Bar-Noy and Dolev 1995, §3, in
the multi-writer form of Lynch and Shvartsman 1997): what an operation does first
(``begin``) and what it does once a quorum has answered its query (``on_query_quorum``). The
harnesses below run that client (in the grader, one sandbox per client) against the library's
replicas (:mod:`dscourse.replication`) and judge the history with the linearizability checker
(Herlihy and Wing 1990), in three kinds of run:

* :func:`abd_slow_write_trial`: Chapter 3's slow write, where a plain quorum read returns a new
  value and a later read the old one (the reads' write-back phase);
* :func:`abd_skew_trial`: writers whose clocks disagree write one after another (a write's
  query phase: a tag ``(counter, writer id)`` above every tag a quorum holds, never a clock);
* :func:`abd_partition_trial`: random gets and puts from clients with skewed clocks, under a
  majority/minority partition nemesis.

They live in ``grading`` (like :mod:`~dscourse.grading.ch01`) because they build student nodes
with :func:`~dscourse.grading.remote.make_node`, and topics never import the grader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import sim as dsim
from ..checkers.trial import Trial, judged_once
from ..errors import allowed
from ..replication import cluster, majority_minority
from ..sim.rng import stream
from .remote import make_plain_node

Fn = Callable[..., Any]


# -- E3.2: the ABD client ------------------------------------------------------------------------
def _abd_client_factory(abd_client: Any) -> Callable:
    """Builds the student's client class for :func:`cluster` (``client=``): locally, or in the
    grader's sandbox (:func:`~dscourse.grading.remote.make_plain_node`)."""
    def make(cid: str, replicas: list, config: dict, workload: dict, record: Fn) -> Any:
        return make_plain_node(abd_client, cid, replicas, config, upcalls={"record": record},
                               methods=("submit",))

    return make


def expect_all(t: Any, trials: Sequence[Trial]) -> None:
    """Fail the test ``t`` listing every violation of every trial (one line each, with its
    seed), not just the first; the diagram and replay line show the first failing run. A
    trial whose code raised fails the test with that error first."""
    for trial in trials:
        if trial.error is not None:
            t.expect(trial)
    failed = [trial for trial in trials if trial.violations]
    if failed:
        lines = [f"seed {trial.seed}: {v}" for trial in failed for v in trial.violations]
        head = f"{len(lines)} problem(s) in {len(failed)} of {len(trials)} run(s):\n"
        first = failed[0]
        t.fail(head + "\n".join(f"  - {line}" for line in lines), first.seed, first.trace, first.at)


def _quiet_cluster(abd_client: Any, seed: int, clients: int, slow: Sequence[tuple[str, str]]) -> Any:
    """Three replicas (N = 3, R = W = 2, links 1 ms) and ``clients`` clients of the student's
    class; each directed link in ``slow`` takes 40 ms."""
    c = cluster("quorum", replicas=3, clients=clients, seed=seed, n=3, r=2, w=2, timeout_ms=300.0,
                latency=(1.0, 1.0), workload=dict(ops=0), client=_abd_client_factory(abd_client))
    for a, b in slow:
        c.sim.set_link(a, b, latency=dsim.Constant(40.0))
    c.run(until=0.0)
    return c


def abd_slow_write_trial(abd_client: Any, seed: int = 1) -> Trial:
    """Chapter 3's slow write (cf. :func:`~.experiments.quorum_anomaly`; N = 3, R = W = 2):
    ``c0`` writes ``x = "new"`` over slow links to ``r1`` and ``r2``; as soon as ``r0`` holds
    it, ``c1`` reads (from ``r0`` and ``r1``), and 10 ms later ``c2`` reads (from ``r1`` and
    ``r2``). Once a read has returned "new", the later read must too, and the history must be
    linearizable."""
    trial = Trial(seed)
    c = _quiet_cluster(abd_client, seed, 3, [("c0", "r1"), ("c0", "r2"), ("c1", "r2"), ("c2", "r0")])
    trial.trace = c.sim.trace
    c.submit("c0", ("put", "x", "old"))
    c.run(until=200)
    c.submit("c0", ("put", "x", "new"))
    c.run_until(lambda: c.replicas["r0"].get("x")[1] == "new", timeout=300)
    c.submit("c1", ("get", "x"))
    c.run(until=c.now + 10)
    c.submit("c2", ("get", "x"))
    c.run(until=c.now + 400)
    reads = [op.output for op in c.history.ops() if op.f == "get"]
    if reads[:1] == ["new"] and reads[1:] != ["new"]:
        trial.violate(f"Linearizability: the two reads returned {reads}; after a read has seen "
                      "'new', the later read must see it too: expected ['new', 'new']")
    elif c.check().outcome != "ok":
        trial.violate(f"Linearizability: the history of the slow-write scenario is not linearizable "
                      f"(reads returned {reads})")
    return trial


def abd_tie_trial(abd_client: Any, seed: int = 1) -> Trial:
    """Two writers, one tag: after ``x = "old"``, ``c0`` and ``c1`` put ``"b"`` and ``"a"`` at
    about the same time, so both queries see the same highest tag; ``c0``'s write reaches
    ``r0`` first, ``c1``'s reaches ``r1`` and ``r2`` first. Then ``c2`` reads (from ``r0``
    and ``r1``) and ``c3`` reads (from ``r1`` and ``r2``): both must return the same value,
    and the history must be linearizable."""
    trial = Trial(seed)
    c = _quiet_cluster(abd_client, seed, 4, [("c0", "r1"), ("c0", "r2"), ("c1", "r0"),
                                             ("c2", "r2"), ("c3", "r0")])
    trial.trace = c.sim.trace
    c.submit("c2", ("put", "x", "old"))
    c.run(until=200)
    c.submit("c0", ("put", "x", "b"))
    c.run(until=238)
    c.submit("c1", ("put", "x", "a"))
    c.run(until=400)
    c.submit("c2", ("get", "x"))
    c.run(until=440)
    c.submit("c3", ("get", "x"))
    c.run(until=800)
    reads = [op.output for op in c.history.ops() if op.f == "get"]
    if len(set(reads)) > 1:
        trial.violate(f"Linearizability: after both puts had completed, two reads one after the "
                      f"other returned {reads}: replicas {dict(sorted(c.versions('x').items()))} "
                      "hold different values under one tag")
    elif c.check().outcome != "ok":
        trial.violate(f"Linearizability: the history of the two-writer scenario is not linearizable "
                      f"(reads returned {reads})")
    return trial


def abd_skew_trial(abd_client: Any, seed: int, writes: int = 4, skew_ms: float = 250.0,
                   fastest_first: bool = True) -> Trial:
    """Three replicas (N = 3, R = W = 2) and three clients whose clocks are up to ``skew_ms``
    apart (offsets drawn from the seed; with ``fastest_first`` the first writer's clock is
    ``skew_ms`` ahead and the second's ``skew_ms`` behind). ``writes`` puts of ``x``, one
    after another by changing clients, each followed by a get from another client: every get
    must return the value of the put just before it, and the history must be linearizable."""
    if isinstance(writes, bool) or not isinstance(writes, int) or writes < 2:
        raise allowed("writes", writes, "an int >= 2")
    trial = Trial(seed)
    rng = stream(seed, "E3.2/skew")
    c = cluster("quorum", replicas=3, clients=3, seed=seed, n=3, r=2, w=2, timeout_ms=200.0,
                workload=dict(ops=0), client=_abd_client_factory(abd_client))
    trial.trace = c.sim.trace
    ids = list(c.clients)
    writers = [ids[int(rng.integers(3))]]
    while len(writers) < writes:
        writers.append([x for x in ids if x != writers[-1]][int(rng.integers(2))])
    offsets = {cid: round(float(rng.uniform(-skew_ms, skew_ms)), 1) for cid in ids}
    if fastest_first:
        offsets[writers[0]], offsets[writers[1]] = skew_ms, -skew_ms
    for cid, off in offsets.items():
        c.sim.set_clock(cid, offset_ms=off)
    c.run(until=0.0)
    at = 10.0
    expected: list[tuple[str, str, float]] = []
    for i, writer in enumerate(writers):
        value = f"v{i + 1}"
        c.submit(writer, ("put", "x", value))
        c.run(until=at + 60)
        reader = [x for x in ids if x != writer][int(rng.integers(2))]
        c.submit(reader, ("get", "x"))
        expected.append((reader, value, at + 60))
        at += 120
        c.run(until=at)
    c.run(until=at + 200)
    gets = [op for op in c.history.ops() if op.f == "get"]
    clocks = ", ".join(f"{cid} {off:+g} ms" for cid, off in sorted(offsets.items()))
    for (reader, want, when), op in zip(expected, gets, strict=True):
        if op.status != "ok":
            trial.violate(f"the get by {reader} at {when:g} ms did not complete ({op.status})", when)
        elif op.output != want:
            trial.violate(f"Linearizability: the get by {reader} at {when:g} ms returned "
                          f"{op.output!r}, but the last completed put wrote {want!r} (puts by "
                          f"{' then '.join(writers)}; clocks {clocks})", when)
    if not trial.violations and c.check().outcome != "ok":
        trial.violate(f"Linearizability: the history is not linearizable (clocks {clocks})")
    return trial


#: The properties :func:`abd_partition_trial` judges (one test per property gives partial credit).
ABD_PROPERTIES = ("linearizable", "minority silent", "majority live")


def abd_partition_trial(abd_client: Any, seed: int, clients: int = 4, keys: tuple[str, ...] = ("x",),
                        start: float = 20.0, heal_after: float = 200.0, skew_ms: float = 100.0,
                        properties: tuple[str, ...] = ABD_PROPERTIES) -> Trial:
    """Five replicas (R = W = 3, timeout 50 ms), ``clients`` clients with 12 random gets and
    puts each over ``keys``, their clocks offset by up to ``skew_ms`` either way, partitioned
    into a majority and a minority side from ``start`` for ``heal_after`` ms. The
    ``properties`` judged, each reported: the history is linearizable; no minority client
    completes an operation it began during the partition; some majority read completes
    during it. The tests of the other properties share the run (it always runs to the end:
    :func:`~dscourse.checkers.trial.judged_once`)."""
    for p in properties:
        if p not in ABD_PROPERTIES:
            raise allowed("properties", p, f"a tuple of {ABD_PROPERTIES}")
    key = ("E3.2", abd_client, seed, clients, keys, start, heal_after, skew_ms)
    return judged_once(key, frozenset(properties), ABD_PROPERTIES, lambda want: _partition_run(
        abd_client, seed, clients, keys, start, heal_after, skew_ms, want), stops_early=False)


def _partition_run(abd_client: Any, seed: int, clients: int, keys: tuple[str, ...], start: float,
                   heal_after: float, skew_ms: float, properties: frozenset[str]) -> Trial:
    trial = Trial(seed)
    rng = stream(seed, "E3.2/workload")
    c = cluster("quorum", replicas=5, clients=clients, seed=seed, n=5, r=3, w=3, timeout_ms=50.0,
                workload=dict(ops=0), client=_abd_client_factory(abd_client))
    trial.trace = c.sim.trace
    for cid in c.clients:
        c.sim.set_clock(cid, offset_ms=round(float(rng.uniform(-skew_ms, skew_ms)), 1))
    c.run(until=0.0)
    for cid in c.clients:
        for k in range(12):
            key = keys[int(rng.integers(len(keys)))]
            c.submit(cid, ("get", key) if rng.random() < 0.5 else ("put", key, f"{cid}.{k}"))
    majority, minority = majority_minority(c)
    end = start + heal_after
    c.nemesis([(start, ("partition", [majority, minority])), (end, ("heal",))])
    c.run(until=1500)
    ops = c.history.ops()
    if "linearizable" in properties and c.check().outcome != "ok":
        trial.violate("linearizable: the history is not linearizable")
    early = [op for op in ops if op.process in minority and op.status == "ok"
             and start < op.call and op.ret < end]
    if "minority silent" in properties and early:
        trial.violate(f"minority silent: {early[0].process} completed a {early[0].f} it began during the "
                      f"partition ({start:g}-{end:g} ms), at {early[0].ret:.1f} ms: it cannot have "
                      "reached a majority", early[0].ret)
    if "majority live" in properties and not any(
            op.process in majority and op.f == "get" and op.status == "ok"
            and start + 20 < op.call < end - 20 for op in ops):
        trial.violate(f"majority live: no read completed during the partition ({start:g}-{end:g} ms)")
    return trial


__all__ = ["ABD_PROPERTIES", "abd_partition_trial", "abd_skew_trial", "abd_slow_write_trial",
           "abd_tie_trial", "expect_all"]
