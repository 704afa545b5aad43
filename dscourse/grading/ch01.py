"""Harnesses for Chapter 1's exercises: each runs one seeded trial and judges it.

Test cells call these (``ds.grading.ch01.channel_trial(ReliableChannel, seed)``) and hand the
:class:`Trial` to ``t.expect``. A harness owns the simulation, the workload, the faults and
the checkers; the student's code only ever plays its node (through
:func:`~dscourse.grading.remote.make_node`), so the same harness judges the student's class in
the notebook and its sandboxed proxy in the grader. Safety properties are checked as each
event happens; liveness by a deadline after the faults stop (curriculum §1.2, "Grading
conventions").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import sim as dsim
from ..checkers.trial import Trial, judged_once
from ..errors import allowed
from ..fundamentals import primary_backup as pb
from .registry import StudentError
from .remote import make_node, observed_version
from .sandbox import ChildError


def _guard(trial: Trial, body: Callable[[], None]) -> Trial:
    """Run ``body``; a student exception ends the trial as an error, keeping seed and trace."""
    try:
        body()
    except ChildError:
        raise
    except (StudentError, NotImplementedError) as exc:
        trial.error = exc
    except Exception as exc:  # noqa: BLE001 - student code runs inside the kernel here
        from .registry import _where
        trial.error = StudentError(type(exc).__name__, str(exc)[:300], _where(exc))
    return trial


def _same(a: Any, b: Any) -> bool:
    """Equality with exact types, so an object claiming to equal everything equals nothing."""
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) not in (int, str, float, bool, type(None)):
        return False
    return a == b


# ---- E1.1: reliable FIFO channel --------------------------------------------------------------


#: E1.1's properties, each judged on its own for partial credit (``properties=``).
CHANNEL_PROPERTIES = ("exactly once", "in order", "all delivered", "quiet")
#: E1.2's properties: timeouts double and a crashed peer is restored only by its heartbeat
#: ("adaptation"); a crashed node is suspected in time, for good ("completeness"); after GST
#: false suspicions are bounded and none remains at the end ("eventual accuracy").
FD_PROPERTIES = ("adaptation", "completeness", "eventual accuracy")


def _wanted(properties: tuple[str, ...], known: tuple[str, ...]) -> frozenset[str]:
    for p in properties:
        if p not in known:
            raise allowed("properties", p, f"a tuple of {known}")
    return frozenset(properties)


def channel_trial(ReliableChannel: Any, seed: int, *, drop: float = 0.3, dup: float = 0.2,
                  reorder: bool = True, messages: int = 12, back: int = 4,
                  drain_ms: float = 800.0,
                  properties: tuple[str, ...] = CHANNEL_PROPERTIES) -> Trial:
    """E1.1: nodes ``a`` and ``b`` exchange ``messages`` (a->b) and ``back`` (b->a) payloads.

    Links lose ``drop``, duplicate ``dup`` and (if ``reorder``) reorder messages, with
    latency uniform in 1..10 ms; the application sends every 5 ms from t = 1 ms. Loss and
    duplication stop 200 ms after the last send. Checked: every delivery is the next payload
    its sender sent on that link, never a repeat, never invented (at every delivery); every
    payload delivered within ``drain_ms`` after the loss stops; and no traffic at all in the
    last 200 ms (the channel is quiet once everything is acknowledged). Only the
    ``properties`` named (of :data:`CHANNEL_PROPERTIES`) are judged; the tests of the other
    properties share the run (:func:`~dscourse.checkers.trial.judged_once`).
    """
    want = _wanted(properties, CHANNEL_PROPERTIES)
    key = ("E1.1", ReliableChannel, seed, drop, dup, reorder, messages, back, drain_ms)
    return judged_once(key, want, CHANNEL_PROPERTIES, lambda w: _channel_run(
        ReliableChannel, seed, drop, dup, reorder, messages, back, drain_ms, w), stops_early=False)


def _channel_run(ReliableChannel: Any, seed: int, drop: float, dup: float, reorder: bool,
                 messages: int, back: int, drain_ms: float, want: frozenset[str]) -> Trial:
    trial = Trial(seed)
    rng = dsim.stream(seed, "e1.1-workload")
    plan = {("a", "b"): [_payload(rng, i) for i in range(messages)],
            ("b", "a"): [_payload(rng, 1000 + i) for i in range(back)]}
    delivered: dict[tuple[str, str], int] = {k: 0 for k in plan}
    sent: dict[tuple[str, str], int] = {k: 0 for k in plan}
    s = dsim.Simulation(seed=seed, network=dsim.Network(latency=dsim.Uniform(1, 10), drop=drop,
                                                         duplicate=dup, fifo=not reorder))
    trial.trace = s.trace

    def deliverer(dst: str) -> Callable[..., None]:
        def deliver(src: Any = None, data: Any = None, *extra: Any) -> None:
            link = (src, dst)
            if extra or link not in plan:
                trial.violate(f"{dst} delivered from {src!r}, which is not its peer "
                              f"(call self.deliver(src, data)) at t={s.now:g} ms")
                return
            k = delivered[link]
            if any(_same(data, earlier) for earlier in plan[link][:k]):
                if "exactly once" in want:
                    trial.violate(f"exactly once: {dst} delivered {data!r} from {src} again at "
                                  f"t={s.now:g} ms (it had been delivered already: a duplicate)", s.now)
            elif k >= sent[link]:
                if "exactly once" in want:
                    trial.violate(f"exactly once: {dst} delivered {data!r} from {src} at t={s.now:g} "
                                  f"ms, but only {sent[link]} payload(s) had been sent and all were "
                                  "delivered (a duplicate, or something never sent)", s.now)
            elif not any(_same(data, p) for p in plan[link][:sent[link]]):
                if "exactly once" in want:        # invented: not counted as a delivery
                    trial.violate(f"exactly once: {dst} delivered {data!r} from {src} at t={s.now:g} "
                                  "ms, which was never sent on that link (nothing may be invented)",
                                  s.now)
                return
            elif not _same(data, plan[link][k]):
                if "in order" in want:
                    trial.violate(f"in order: {dst} delivered {data!r} from {src} at t={s.now:g} ms; "
                                  f"the next payload in send order was {plan[link][k]!r}", s.now)
            delivered[link] = k + 1
        return deliver

    def body() -> None:
        nodes: dict[str, Any] = {n: make_node(ReliableChannel, n, upcalls={"deliver": deliverer(n)},
                              methods=("reliable_send",)) for n in ("a", "b")}
        for n in nodes.values():
            s.add_node(n)
        sends = sorted((1.0 + 5.0 * i, src, dst, i) for (src, dst), p in plan.items()
                       for i in range(len(p)))
        for at, src, dst, i in sends:
            s.run(until=at)
            sent[(src, dst)] += 1
            nodes[src].reliable_send(dst, plan[(src, dst)][i])
        stop = sends[-1][0] + 200.0
        s.run(until=stop)
        for a, b in (("a", "b"), ("b", "a")):
            s.set_link(a, b, drop=0.0, duplicate=0.0)
        s.run(until=stop + drain_ms)
        for link, payloads in plan.items():
            if "all delivered" in want and delivered[link] < len(payloads):
                trial.violate(f"all delivered: only {delivered[link]} of {len(payloads)} payloads {link[0]}->"
                              f"{link[1]} were delivered by t={stop + drain_ms:g} ms "
                              f"({drain_ms:g} ms after loss stopped at t={stop:g} ms)")
        silent = [f"{a}->{b}" for (a, b), k in delivered.items() if k == 0]
        if silent:        # nothing delivered: the safety properties would hold vacuously
            for p in ("exactly once", "in order", "quiet"):
                if p in want:
                    trial.violate(f"{p}: nothing was delivered on {', '.join(silent)}, so {p} "
                                  "held only vacuously (a channel must deliver to earn it)")
        quiet_from = s.now
        s.run(until=quiet_from + 200.0)
        late = sum(1 for e in s.trace.events if e.kind == "send" and e.time > quiet_from * 1000)
        if "quiet" in want and late:
            trial.violate(f"quiet: {late} message(s) were still sent after t={quiet_from:g} ms, when "
                          "everything had long been acknowledged (stop retransmitting)")

    return _guard(trial, body)


def _payload(rng: Any, i: int) -> Any:
    """A workload payload: an int or a short str, distinct per index."""
    r = int(rng.integers(1_000_000))
    return r * 1000 + i if i % 2 else f"m{i}-{r}"


# ---- E1.2: eventually perfect failure detector --------------------------------------------------


def fd_trial(TimeoutFD: Any, seed: int, *, n: int = 3, period_ms: float = 10.0,
             initial_timeout_ms: float = 12.0, gst_ms: float = 300.0, max_delay_ms: float = 5.0,
             crash: bool = True, end_ms: float = 650.0,
             properties: tuple[str, ...] = FD_PROPERTIES) -> Trial:
    """E1.2: ``n`` detectors ``p1..pn`` heartbeat each other; maybe one crashes after GST.

    Before ``gst_ms`` latencies are heavy-tailed (Pareto, scale 1 ms, alpha 1.1); after it
    new messages take 1..``max_delay_ms`` (old ones may still be in flight). Checked after
    every event: ``suspected`` is a set of peer ids; a restored peer's timeout has doubled; a
    crashed peer is restored only when one of its (late) heartbeats has just arrived. At the
    end: everyone suspects the crashed node, from at most ``L + timeout + period`` on, where
    ``L`` is the later of ``crash + max_delay`` and its last heartbeat's arrival; after GST
    each detector falsely suspects each correct peer at most
    ``1 + ceil(log2((period + max_delay) / initial))`` times (then its timeout covers any
    heartbeat gap); and no correct node is suspected at the end. Only the ``properties``
    named (of :data:`FD_PROPERTIES`) are judged; the shape of ``suspected`` and ``timeout``
    always is. The tests of the other properties share the run (it ends at its first
    violation: see :meth:`~dscourse.checkers.trial.Trial.only`).
    """
    want = _wanted(properties, FD_PROPERTIES)
    key = ("E1.2", TimeoutFD, seed, n, period_ms, initial_timeout_ms, gst_ms, max_delay_ms, crash,
           end_ms)
    return judged_once(key, want, FD_PROPERTIES, lambda w: _fd_run(
        TimeoutFD, seed, n, period_ms, initial_timeout_ms, gst_ms, max_delay_ms, crash, end_ms, w),
        stops_early=True)


def _fd_run(TimeoutFD: Any, seed: int, n: int, period_ms: float, initial_timeout_ms: float,
            gst_ms: float, max_delay_ms: float, crash: bool, end_ms: float,
            want: frozenset[str]) -> Trial:
    trial = Trial(seed)
    rng = dsim.stream(seed, "e1.2-workload")
    ids = [f"p{i}" for i in range(1, n + 1)]
    victim = ids[int(rng.integers(n))] if crash else None
    crash_at = float(gst_ms + 50 + int(rng.integers(150))) if crash else math.inf
    s = dsim.Simulation(seed=seed, network=dsim.Network(latency=dsim.Pareto(1.0, 1.1)))
    trial.trace = s.trace
    bound = 1 + math.ceil(math.log2((period_ms + max_delay_ms) / initial_timeout_ms))
    # per observer p, per peer q: what p last showed about q (mixed values, hence Any)
    state: dict[str, dict[str, dict[str, Any]]] = {
        p: {q: {"susp": False, "since": None, "t_before": None, "false_after_gst": 0, "restores": 0,
                "heard": 0.0, "gap": 0.0} for q in ids if q != p} for p in ids}

    def observe(p: str, node: Any) -> None:
        now = s.now
        # exact types checked below (type(), not isinstance: subclasses could lie)
        suspected: Any = getattr(node, "suspected", None)
        timeout: Any = getattr(node, "timeout", None)
        if type(suspected) not in (set, frozenset) or not all(type(q) is str for q in suspected):
            trial.violate(f"{p}.suspected must be a set of node ids, got {type(suspected).__name__}")
            return
        if type(timeout) is not dict:
            trial.violate(f"{p}.timeout must be a dict peer -> ms, got {type(timeout).__name__}")
            return
        for q, st in state[p].items():
            t_q = timeout.get(q)
            if type(t_q) not in (int, float):
                trial.violate(f"{p}.timeout[{q!r}] must be a number of ms, got {t_q!r}")
                return
            now_susp = q in suspected
            if now_susp and not st["susp"]:
                st.update(susp=True, since=now, t_before=st.get("t_now", t_q))
                if (q != victim or now < crash_at) and now >= gst_ms:
                    st["false_after_gst"] += 1
            elif not now_susp and st["susp"]:
                st["susp"] = False
                st["restores"] += 1
                if "adaptation" not in want:
                    pass
                elif q == victim and now >= crash_at and st["heard"] < st["since"]:
                    trial.violate(f"adaptation: {p} stopped suspecting {q} at t={now:g} ms without hearing "
                                  f"from it, but {q} crashed at t={crash_at:g} ms", now)
                elif t_q != 2 * st["t_before"]:
                    trial.violate(f"adaptation: {p} restored {q} at t={now:g} ms after a false suspicion, so "
                                  f"timeout[{q!r}] should have doubled from {st['t_before']:g} "
                                  f"to {2 * st['t_before']:g} ms, but it is {t_q:g}", now)
            st["t_now"] = t_q
        for q in suspected:
            if q not in state[p]:
                trial.violate(f"{p} suspects {q!r}, which is not one of its peers")

    def body() -> None:
        nodes = {p: make_node(TimeoutFD, p, period_ms=period_ms,
                              initial_timeout_ms=initial_timeout_ms,
                              observe=("suspected", "timeout")) for p in ids}
        for node in nodes.values():
            s.add_node(node)

        seen = [0]
        # what each node showed when last observed: a sandboxed node's observed values change
        # only when a call of its own returns, and observe() of unchanged values changes
        # nothing, so only the nodes whose version moved are observed again (local nodes,
        # version None, every time)
        observed: dict[str, int | None] = {}

        def check() -> bool:
            events = s.trace.events
            for e in events[seen[0]:]:
                if e.kind == "deliver" and e.node in state and e.peer in state[e.node]:
                    st = state[e.node][e.peer]
                    st["gap"] = max(st["gap"], e.time / 1000 - st["heard"])
                    st["heard"] = e.time / 1000
            seen[0] = len(events)
            if s.now == 0:                      # the nodes are still starting
                return False
            for p in ids:
                if s.status(p) == "up":
                    version = observed_version(nodes[p])
                    if version is None or observed.get(p) != version:
                        observe(p, nodes[p])
                        observed[p] = version
            return bool(trial.violations)

        for edge in sorted({gst_ms, min(crash_at, end_ms), end_ms}):
            if s.run_until(check, edge - s.now):
                return
            if edge == gst_ms:
                for a in ids:
                    for b in ids:
                        if a != b:
                            s.set_link(a, b, latency=dsim.Uniform(1, max_delay_ms))
            elif edge == crash_at and victim is not None:
                s.crash(victim)
        _judge_fd(trial, state, victim, crash_at, bound, period_ms, max_delay_ms,
                  initial_timeout_ms, gst_ms, end_ms, want)

    return _guard(trial, body)


def _judge_fd(trial: Trial, state: dict, victim: str | None, crash_at: float, bound: int,
              period_ms: float, max_delay_ms: float, t0: float, gst_ms: float,
              end_ms: float, want: frozenset[str] = frozenset(FD_PROPERTIES)) -> None:
    for p, peers in state.items():
        if p == victim:
            continue
        for q, st in peers.items():
            if q == victim:
                last = max(crash_at + max_delay_ms, st["heard"])
                limit = last + t0 * 2 ** st["restores"] + period_ms
                if limit >= end_ms or "completeness" not in want:
                    continue                    # a very late heartbeat: too close to the end to judge
                if not st["susp"]:
                    trial.violate(f"completeness: {p} does not suspect {q} at the end, but {q} crashed at "
                                  f"t={crash_at:g} ms")
                elif st["since"] > limit:
                    trial.violate(f"completeness: {p} suspected {q} only at t={st['since']:g} ms; {q} crashed at "
                                  f"t={crash_at:g} ms and its last heartbeat arrived by "
                                  f"t={last:g} ms, so the bound (+ timeout + period) is "
                                  f"t={limit:g} ms")
            elif "eventual accuracy" in want:
                if st["false_after_gst"] > bound:
                    trial.violate(f"eventual accuracy: {p} falsely suspected {q} "
                                  f"{st['false_after_gst']} times after GST (t={gst_ms:g} ms); "
                                  f"with doubling it needs at most {bound}")
                if st["susp"]:
                    trial.violate(f"eventual accuracy: {p} still suspects {q} at the end, but {q} is correct")

    # Before GST heartbeats are late, so a working detector suspects and retracts; one that
    # never does keeps adaptation and accuracy only vacuously, and earns neither -- judged only
    # when the run made a suspicion necessary: a silence longer than the initial timeout plus a
    # period, ended by a heartbeat, or a correct peer silent that long at the end (its
    # heartbeats stopped: after GST a working detector's arrive every period + at most
    # max_delay). A run whose heartbeats all came in time asks for no suspicion. One that
    # suspects everyone is complete only trivially, and earns no completeness.
    watched = [(p, q, st) for p, peers in state.items() if p != victim for q, st in peers.items()]

    def silence(w: tuple[str, str, dict[str, Any]]) -> float:
        st = w[2]
        return max(st["gap"], end_ms - st["heard"] if w[1] != victim else 0.0)
    p, q, longest = max(watched, key=silence, default=("", "", {"gap": 0.0, "heard": end_ms}))
    quiet = silence((p, q, longest))
    forced = quiet > t0 + period_ms
    because = (f"{p} heard nothing from {q} for {quiet:.1f} ms, longer than the initial timeout "
               f"({t0:g} ms) plus a period ({period_ms:g} ms)")
    if "adaptation" in want and forced and not any(st["restores"] for _, _, st in watched):
        trial.violate(f"adaptation: no suspicion was ever retracted, so no timeout ever doubled, "
                      f"but {because}: a detector must suspect then, and retract")
    if "completeness" in want and victim is not None and any(
            st["susp"] for p, peers in state.items() if p != victim
            for q, st in peers.items() if q != victim):
        trial.violate("completeness: correct peers are still suspected at the end too, and "
                      "suspecting everyone is complete only trivially (completeness counts "
                      "together with no false suspicion at the end)")
    if "eventual accuracy" in want and forced and not any(st["since"] is not None for _, _, st in watched):
        trial.violate(f"eventual accuracy: nobody was ever suspected, so accuracy held only "
                      f"vacuously, but {because} (a detector that never suspects is not a detector)")


# ---- E1.3: break the naive primary-backup store --------------------------------------------------


def schedule_trial(schedule: Any, seed: int) -> Trial:
    """E1.3: replay ``schedule`` against :func:`dscourse.fundamentals.primary_backup.build`.

    Passes when the lost-write checker finds an ``ok`` put absent from every later read.
    """
    trial = Trial(seed)

    def body() -> None:
        cluster = pb.build(seed=seed)
        trial.trace = cluster.sim.trace
        try:
            cluster.apply(schedule)
        except ValueError as exc:
            trial.violate(f"the schedule is not valid: {exc}")
            return
        cluster.run()
        lost = pb.lost_writes(cluster.history)
        trial.facts["lost"] = [(w.key, w.value) for w in lost]
        if not lost:
            oks = sum(1 for op in cluster.history if op.f == "put" and op.type == "ok")
            trial.violate(f"no acknowledged write was lost ({oks} puts were acknowledged, and every "
                          "one that a later read could see was seen)")

    return _guard(trial, body)


def validate_schedule(schedule: Any) -> list[tuple]:
    """The schedule as E1.3 accepts it (raises ``ConfigError`` naming what is wrong)."""
    cluster = pb.build(seed=1)
    return cluster.apply(schedule)
