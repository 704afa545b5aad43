"""Trusted harnesses for Chapter 9's exercises (E9.1-E9.4).

Each exercise asks for one rule of a lock as a plain function of data; the harness plugs it
into the library's simulation where that rule applies (a Redis server, the fenced resource,
the Redlock client, the ZooKeeper lock recipe), runs it, and returns a
:class:`~dscourse.checkers.trial.Trial` whose one violation lists *every* failed case. The
student's function is only called with plain data and its results are checked before use, so
it can be a local function or the batch grader's sandbox proxy.

* E9.1 ``rlock_script(op, lock, owner, lease_ms) -> [reply, lock]`` -- a reentrant lock's
  server-side logic (what Redisson's lock, unlock and renewal scripts do, with a different
  state layout), run by a Redis server for :class:`~dscourse.locks.RLockClient`.
* E9.2 ``break_schedule(lease_ms) -> faults`` (a pause / clock-jump schedule that gives two
  holders) and ``fence(accepted, client, token) -> bool`` (the resource's fencing check).
* E9.3 ``redlock_validity(acks, n, elapsed_ms, ttl_ms) -> ms or None`` and
  ``restart_delay_ms(ttl_ms)``.
* E9.4 ``wait_for(children, me) -> name or None`` -- which node a ZooKeeper read/write lock
  contender waits on (Curator's node names), run by :class:`~dscourse.locks.zkrw.Contender`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from .. import redis
from ..checkers.trial import Trial
from ..redis import REDISSON_LOCK, REDISSON_RENEW, REDISSON_UNLOCK, RedisServer
from ..sim.rng import stream
from . import zkrw
from .clients import RedlockClient
from .cluster import cluster
from .resource import FencedResource
from .scenarios import arena

Fn = Callable[..., Any]


class StudentError(Exception):
    """The student's function returned something the harness cannot use."""


def _report(trial: Trial, failures: list[str], cases: int | None, at: float | None = None,
            noun: str = "cases", note: str = "") -> Trial:
    """One violation listing every failed case (so a student sees all of them at once)."""
    if failures:
        plural = "s" if len(failures) > 1 else ""
        head = f"{len(failures)} of {cases} {noun} failed:" if cases else f"{len(failures)} problem{plural}:"
        trial.violate("\n".join([head, *(f"  - {f}" for f in failures), *([note] if note else [])]), at)
    return trial


def _is_int(x: Any) -> bool:
    return type(x) is int


# == E9.1: a reentrant lock's server-side logic ==================================================
def _check_lock(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not (type(value) is dict and set(value) == {"owner", "count", "ttl"} and type(value["owner"]) is str
            and _is_int(value["count"]) and value["count"] >= 1 and _is_int(value["ttl"]) and value["ttl"] >= 1):
        raise StudentError(f"rlock_script returned the lock {value!r}: expected None or "
                           "{'owner': str, 'count': int >= 1, 'ttl': int >= 1}")
    return value


def scripted_server(rlock_script: Fn) -> type[RedisServer]:
    """A Redis server that runs Redisson's three lock scripts as ``rlock_script``."""
    ops = {REDISSON_LOCK: "lock", REDISSON_UNLOCK: "unlock", REDISSON_RENEW: "renew"}

    class ScriptedRLock(RedisServer):
        def _cmd_eval(self, script: Any, numkeys: Any, *args: Any) -> Any:
            op = ops.get(str(script))
            if op is None:
                return super()._cmd_eval(script, numkeys, *args)
            keys, argv = self._script_args(numkeys, args)
            key, owner = keys[0], argv[-1]
            lease = int(argv[0] if op != "unlock" else argv[1])
            fields = self._hash(key)
            lock = None
            if fields:
                (holder, count), = sorted(fields.items())[:1]
                lock = {"owner": holder, "count": int(count), "ttl": max(1, int(self._cmd_pttl(key)))}
            out = rlock_script(op, None if lock is None else dict(lock), owner, lease)
            if not (type(out) in (list, tuple) and len(out) == 2):
                raise StudentError(f"rlock_script({op!r}, ...) returned {out!r}: expected [reply, lock]")
            reply, after = out[0], _check_lock(out[1])
            if not (reply is None or _is_int(reply)):
                raise StudentError(f"rlock_script({op!r}, ...) replied {reply!r}: expected None or an int")
            if after != lock:
                self.execute("DEL", key)
                if after is not None:
                    self.execute("HSET", key, after["owner"], after["count"])
                    self.execute("PEXPIRE", key, after["ttl"])
            if op == "unlock" and reply == 1:
                self.execute("PUBLISH", keys[1], argv[0])
            return reply

    return ScriptedRLock


def reference_rlock_script(op: str, lock: dict | None, owner: str, lease_ms: int) -> list:
    """The library's rule in the exercise's format (Redisson's scripts, one owner per hash)."""
    mine = lock is not None and lock["owner"] == owner
    if op == "lock":
        if lock is None:
            return [None, {"owner": owner, "count": 1, "ttl": lease_ms}]
        if mine:
            return [None, {"owner": owner, "count": lock["count"] + 1, "ttl": lease_ms}]
        return [lock["ttl"], lock]
    if op == "renew":
        return [1, {**lock, "ttl": lease_ms}] if mine and lock else [0, lock]
    if not mine or lock is None:
        return [None, lock]
    if lock["count"] > 1:
        return [0, {"owner": owner, "count": lock["count"] - 1, "ttl": lease_ms}]
    return [1, None]


RLOCK_PROPERTIES = ("exclusive", "owner-only release", "reentrant", "crash frees", "renewal")


def _unit_cases(rlock_script: Fn, seed: int) -> list[tuple[str, list]]:
    """Scripted calls on one server: (name, [(who, op, expected reply, expected state)])."""
    rng = stream(seed, "E9.1/cases")
    a, b = f"uuid-{int(rng.integers(100, 999))}:1", f"uuid-{int(rng.integers(100, 999))}:2"
    depth = int(rng.integers(2, 5))
    cases: dict[str, list[tuple[Any, ...]]] = {
        "owner-only release": [("A", "lock", None, (a, 1)), ("B", "unlock", None, (a, 1)),
                               ("B", "renew", 0, (a, 1)), ("A", "unlock", 1, None), ("B", "unlock", None, None)],
        "reentrant": [*[("A", "lock", None, (a, k + 1)) for k in range(depth)], ("B", "lock", "ttl", (a, depth)),
                      *[("A", "unlock", 0, (a, depth - k - 1)) for k in range(depth - 1)], ("A", "unlock", 1, None),
                      ("B", "lock", None, (b, 1))],
        "renewal": [("A", "lock", None, (a, 1)), ("A", "renew", 1, (a, 1)), ("A", "unlock", 1, None),
                    ("A", "renew", 0, None), ("B", "renew", 0, None)],
    }
    return [(name, [(a if who == "A" else b, *rest) for who, *rest in steps]) for name, steps in cases.items()]


def rlock_unit_trial(rlock_script: Fn, seed: int, prop: str) -> Trial:
    """E9.1, one property on scripted calls through a redis-py-style client: every step's
    reply and the hash left behind (``HGETALL``) and its TTL."""
    from ..sim import Simulation

    trial = Trial(seed)
    cases = dict(_unit_cases(rlock_script, seed))
    steps = cases[prop]
    sim = Simulation(seed=seed)
    sim.add_node(scripted_server(rlock_script)("redis", persistence="none"))
    sim.run(until=1)
    trial.trace = sim.trace
    r = redis.client(sim, "redis", decode_responses=True)
    lease, channel = 30_000, "redisson_lock__channel:{res}"
    failures = []
    for i, (owner, op, want, state) in enumerate(steps, 1):
        try:
            if op == "lock":
                got = r.eval(REDISSON_LOCK, 1, "res", lease, owner)
            elif op == "unlock":
                got = r.eval(REDISSON_UNLOCK, 2, "res", channel, 0, lease, owner)
            else:
                got = r.eval(REDISSON_RENEW, 1, "res", lease, owner)
        except StudentError as e:
            failures.append(f"step {i}, {owner} {op}: {e}")
            break
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        held = r.hgetall("res")
        expect_hash = {} if state is None else {state[0]: str(state[1])}
        ok_reply = (type(got) is int and 0 < got <= lease) if want == "ttl" else got == want
        problems = []
        if not ok_reply:
            problems.append(f"replied {got!r}, expected "
                            f"{'the remaining TTL in ms' if want == 'ttl' else repr(want)}")
        if held != expect_hash:
            problems.append(f"the lock is {held or 'gone'}, expected {expect_hash or 'gone'}")
        elif state is not None and not 0 < r.pttl("res") <= lease:
            problems.append(f"the lock's TTL is {r.pttl('res')} ms, expected at most the lease ({lease} ms): "
                            "a lock that outlives its lease outlives a crashed holder")
        if problems:
            failures.append(f"step {i}, {owner} {op}: " + "; ".join(problems))
    return _report(trial, failures, len(steps), sim.now, "steps")


def rlock_run_trial(rlock_script: Fn, seed: int, prop: str) -> Trial:
    """E9.1 in the lock arena: three :class:`~dscourse.locks.RLockClient`\\ s (Redisson's client,
    watchdog on) against a server running ``rlock_script``.

    ``exclusive``: no two clients believe they hold the lock at once, and every client gets it;
    ``reentrant``: the same with a depth-3 reentrant critical section; ``crash frees``: after the
    holder crashes, the next grant comes within one lease (+ 20 ms) and not before the lease ends
    minus a watchdog period; ``renewal``: 4-lease critical sections keep the lock (renewals),
    every client gets it in 4 s, and no renewal succeeds a round trip after an unlock.
    """
    trial = Trial(seed)
    lease = 90.0
    depth = 3 if prop == "reentrant" else 1
    work = 4 * lease if prop == "renewal" else 30.0
    c = cluster("rlock", clients=3, seed=seed, lease_ms=lease, work_ms=work, depth=depth,
                server=scripted_server(rlock_script))
    trial.trace = c.sim.trace
    failures: list[str] = []
    cases = 1
    try:
        if prop == "crash frees":
            cases = 2
            c.run_until(lambda: bool(c.holders()), 1000)
            holder = c.holders()[0] if c.holders() else None
            if holder is None:
                return _report(trial, ["nobody got the lock in 1 s"], 1, c.now)
            c.run(until=c.now + float(stream(seed, "E9.1/crash").uniform(0, 25)))  # before its 30 ms of work end
            crashed_at = c.now
            c.sim.crash(holder)
            n = len(c.audit.holdings)
            c.run_until(lambda: len(c.audit.holdings) > n, 2000)
            if len(c.audit.holdings) == n:
                failures.append(f"{holder} crashed at {crashed_at:g} ms holding the lock; nobody got it in 2 s")
            else:
                nxt = c.audit.holdings[n]
                if nxt.start - crashed_at > lease + 20:
                    failures.append(f"{holder} crashed at {crashed_at:g} ms; the next grant came at {nxt.start:g} ms, "
                                    f"more than one lease ({lease:g} ms) later")
                if nxt.start - crashed_at < lease / 3 - 10:
                    failures.append(f"{holder} crashed at {crashed_at:g} ms; {nxt.client} got the lock already at "
                                    f"{nxt.start:g} ms, before the crashed holder's lease could have run out")
        else:
            span = 4000.0 if prop == "renewal" else 1500.0
            c.run(span)
            chk = c.check()
            if chk["overlaps"]:
                a, b = c.overlaps()[0]
                failures.append(f"{a.client} and {b.client} both believed they held the lock from {b.start:g} ms")
            starved = [n for n in c.clients if not any(h.client == n for h in c.audit.holdings)]
            if starved:
                failures.append(f"{', '.join(starved)} never got the lock in {span / 1000:g} s")
            cases = 2
            if prop == "renewal":
                cases = 3
                if not c.audit.renewals:
                    failures.append(f"a {work:g} ms critical section on a {lease:g} ms lease got no renewal")
                late = [(t, who) for t, who in c.audit.renewals
                        # a renewal the server ran before the unlock may answer a round trip later
                        if not any(h.client == who and h.start <= t <= (h.end if h.end is not None else c.now) + 10
                                   for h in c.audit.holdings)]
                if late:
                    failures.append(f"a renewal by {late[0][1]} succeeded at {late[0][0]:g} ms, after its unlock")
    except StudentError as e:
        failures.append(str(e))
    return _report(trial, failures, cases, c.now)


def rlock_trial(rlock_script: Fn, seed: int, prop: str) -> Trial:
    """E9.1, one property of :data:`RLOCK_PROPERTIES` (scripted calls and an arena run)."""
    if prop not in RLOCK_PROPERTIES:
        raise ValueError(f"prop={prop!r} is not allowed: expected one of {RLOCK_PROPERTIES}")
    runs = []
    if prop in ("owner-only release", "reentrant", "renewal"):
        runs.append(rlock_unit_trial(rlock_script, seed, prop))
    if prop in ("exclusive", "reentrant", "crash frees", "renewal"):
        runs.append(rlock_run_trial(rlock_script, seed, prop))
    bad = [t for t in runs if not t.ok]
    return bad[0] if bad else runs[-1]


# == E9.2: break it, then fence it ===============================================================
def _check_schedule(faults: Any, lease_ms: float) -> list[tuple[float, tuple]]:
    if not (type(faults) in (list, tuple) and 1 <= len(faults) <= 8):
        raise StudentError(f"break_schedule returned {faults!r}: expected a list of 1 to 8 faults")
    out = []
    for f in faults:
        ok = (type(f) in (list, tuple) and len(f) == 4 and f[0] in ("pause", "clock_jump")
              and all(type(x) in (int, float) and math.isfinite(x) for x in f[2:]))
        if ok and f[0] == "pause":
            ok = f[1] in ("c0", "c1", "c2") and 0 < f[3] <= 5 * lease_ms
        elif ok:
            ok = f[1] == "redis" and 0 < abs(f[3]) <= 5 * lease_ms
        if not ok or not 0 <= f[2] <= 1000:
            raise StudentError(f"break_schedule returned the fault {f!r}: expected ['pause', 'c0'|'c1'|'c2', at_ms, "
                               f"ms] or ['clock_jump', 'redis', at_ms, delta_ms], with 0 <= at_ms <= 1000 and "
                               f"at most {5 * lease_ms:g} ms")
        out.append((float(f[2]) + 1.0, (f[0], f[1], float(f[3]))))
    return sorted(out, key=lambda x: x[0])


def break_trial(break_schedule: Fn, seed: int, lease_ms: float = 100.0) -> Trial:
    """E9.2a: the token lock (3 clients, lease ``lease_ms``) under the student's schedule must
    show two clients believing they hold the lock at once (an overlap in the audit)."""
    trial = Trial(seed)
    try:
        schedule = _check_schedule(break_schedule(lease_ms), lease_ms)
    except StudentError as e:
        return trial.fail(str(e))
    c = cluster("token", clients=3, seed=seed, lease_ms=lease_ms)
    trial.trace = c.sim.trace
    c.sim.schedule_nemesis(schedule)
    c.run(1500)
    if not c.overlaps():
        trial.violate(f"seed {seed}: no two clients ever believed they held the lock at once "
                      f"({len(c.audit.holdings)} grants, each exclusive)", c.now)
    return trial


def fenced_resource(fence: Fn) -> type[FencedResource]:
    """A resource that accepts a write when ``fence(accepted, client, token)`` says so."""

    class StudentFence(FencedResource):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.accepted: list[list] = []

        def verdict(self, client: str, token: int | None) -> str:
            ok = fence([list(w) for w in self.accepted], client, token)
            if type(ok) is not bool:
                raise StudentError(f"fence(..., {client!r}, {token!r}) returned {ok!r}: expected True or False")
            if ok:
                self.accepted.append([client, token])
            return "" if ok else "rejected by fence()"

    return StudentFence


def reference_fence(accepted: list, client: str, token: int | None) -> bool:
    """The library's rule in the exercise's format: a token above every accepted one."""
    return token is not None and all(t is not None and token > t for _, t in accepted)


FENCE_FAULTS = ("pause", "clock_jump", "failover")


def fence_trial(fence: Fn, seed: int, faults: tuple[str, ...] = FENCE_FAULTS) -> Trial:
    """E9.2b: the arena's token lock under each fault of ``faults`` with the student's fence:
    accepted tokens strictly increase, no stale write is accepted, and a write whose token is
    above every accepted one is never rejected (a fence that rejects everything fails)."""
    trial = Trial(seed)
    failures = []
    for fault in faults:
        try:
            c = arena("token", fault, fencing=True, seed=seed, resource=fenced_resource(fence))
        except StudentError as e:
            failures.append(f"{fault}: {e}")
            continue
        trial.trace = c.sim.trace
        tokens = c.audit.accepted_tokens()
        if any(t is None for t in tokens) or any(
                b <= a for a, b in itertools.pairwise(tokens)):  # type: ignore[operator]
            failures.append(f"{fault}: accepted tokens {tokens} do not strictly increase")
        if c.stale_writes():
            w = c.stale_writes()[0]
            failures.append(f"{fault}: a stale write by {w.client} (token {w.token}) was accepted at {w.applied:g} ms")
        best = None
        for w in sorted((w for w in c.audit.writes.values() if w.applied is not None),
                        key=lambda w: (w.applied, w.write_id)):
            if w.accepted is False and w.token is not None and (best is None or w.token > best):
                failures.append(f"{fault}: {w.client}'s write with token {w.token} was rejected at {w.applied:g} ms, "
                                f"though every token accepted before was lower")
                break
            if w.accepted and w.token is not None:
                best = w.token if best is None else max(best, w.token)
    return _report(trial, failures, len(faults))


# == E9.3: Redlock =================================================================================
def redlock_cases(seed: int) -> list[tuple[int, int, float, int, float | None]]:
    """(acks, n, elapsed, ttl, expected validity or None): the fixed ones and some random."""
    fixed = [(3, 5, 20.0, 100, 77.0), (2, 5, 5.0, 100, None), (5, 5, 0.0, 10_000, 9898.0),
             (3, 5, 97.0, 100, None), (3, 5, 95.0, 100, 2.0), (1, 1, 0.0, 100, 97.0), (2, 3, 10.0, 1000, 978.0),
             (2, 4, 1.0, 100, None), (3, 4, 1.0, 100, 96.0), (0, 5, 0.0, 100, None)]
    rng = stream(seed, "E9.3/cases")
    out = []
    for _ in range(10):
        n = int(rng.integers(1, 10))
        acks = int(rng.integers(0, n + 1))
        ttl = int(rng.integers(50, 30_000))
        elapsed = float(round(rng.uniform(0, ttl * 1.1), 1))
        v = ttl - elapsed - (ttl * 0.01 + 2)
        out.append((acks, n, elapsed, ttl, v if acks >= n // 2 + 1 and v > 0 else None))
    return fixed + out


def redlock_rule_trial(redlock_validity: Fn, seed: int) -> Trial:
    """E9.3a: the decision on the cases of :func:`redlock_cases` (every one reported)."""
    trial = Trial(seed)
    cases = redlock_cases(seed)
    failures = []
    for acks, n, elapsed, ttl, want in cases:
        got = redlock_validity(acks, n, elapsed, ttl)
        if want is None:
            if got is not None:
                failures.append(f"redlock_validity({acks}, {n}, {elapsed:g}, {ttl}) returned {got!r}, expected None")
        elif type(got) not in (int, float) or not math.isclose(got, want, abs_tol=1e-6):
            failures.append(f"redlock_validity({acks}, {n}, {elapsed:g}, {ttl}) returned {got!r}, expected {want:g}")
    return _report(trial, failures, len(cases))


def redlock_client(redlock_validity: Fn) -> type[RedlockClient]:
    class StudentRedlock(RedlockClient):
        def decide(self, acks: int, n: int, elapsed: float) -> float | None:
            v = redlock_validity(acks, n, float(elapsed), int(self.lease_ms))
            if v is not None and (type(v) not in (int, float) or not math.isfinite(v)):
                raise StudentError(f"redlock_validity returned {v!r}: expected a number of ms or None")
            return None if v is None else float(v)

    return StudentRedlock


def redlock_run_trial(redlock_validity: Fn, seed: int) -> Trial:
    """E9.3a in the arena: five instances, three clients, no faults: no overlapping belief and
    grants happen; then over slow links (a round trip close to the TTL) no grant is made."""
    trial = Trial(seed)
    failures = []
    c = cluster("redlock", clients=3, seed=seed, client=redlock_client(redlock_validity))
    trial.trace = c.sim.trace
    try:
        c.run(1000)
    except StudentError as e:
        return trial.fail(str(e))
    if c.overlaps():
        a, b = c.overlaps()[0]
        failures.append(f"fast links: {a.client} and {b.client} both believed they held the lock at {b.start:g} ms")
    if len(c.audit.holdings) < 3:
        failures.append(f"fast links: only {len(c.audit.holdings)} grants in 1 s")
    slow = cluster("redlock", clients=2, seed=seed, latency=(49.0, 52.0), timeout_ms=200.0,
                   client=redlock_client(redlock_validity))
    try:
        slow.run(1000)
    except StudentError as e:
        return trial.fail(str(e))
    if slow.audit.holdings:
        h = slow.audit.holdings[0]
        failures.append(f"slow links (a round trip of 98-104 ms on a 100 ms TTL): {h.client} took the lock at "
                        f"{h.start:g} ms with validity {getattr(slow.nodes[h.client], 'validity', 0):g} ms")
    return _report(trial, failures, 3, c.now)


def restart_trial(restart_delay_ms: Fn, seed: int) -> Trial:
    """E9.3b: the arena's restart scenario (an instance restarts without persistence, clocks of
    others jump, just after a grant) with the restarted instance kept down
    ``restart_delay_ms(ttl)``: nobody else holds the lock while that grant's holder does, and
    the delay is at most 3 TTLs (the instance must come back)."""
    trial = Trial(seed)
    ttl = 100.0
    delay = restart_delay_ms(int(ttl))
    if type(delay) not in (int, float) or not math.isfinite(delay) or not 0 <= delay <= 3 * ttl:
        return trial.fail(f"restart_delay_ms({ttl:g}) returned {delay!r}: expected a number of ms between 0 and "
                          f"{3 * ttl:g}")
    c = arena("redlock", "restart", seed=seed, lease_ms=ttl, work_ms=75.0, restart_delay_ms=float(delay) or None)
    trial.trace = c.sim.trace
    attacked = next((h for h in c.audit.holdings if h.start == c.fault_at), None)
    for a, b in c.overlaps():
        if attacked in (a, b):
            trial.violate(f"seed {seed}: with the instance down {delay:g} ms, {a.client} and {b.client} both held the "
                          f"lock from {b.start:g} ms", b.start)
            break
    return trial


# == E9.4: ZooKeeper mutex and read/write lock ===================================================
ZK_PROPERTIES = ("fifo", "one notification", "expired waiter", "read/write")


def _kinds(seed: int, prop: str) -> tuple[list[str], tuple[int, ...]]:
    rng = stream(seed, f"E9.4/{prop}")
    n = int(rng.integers(4, 8))
    if prop == "read/write":
        kinds = ["write", "read", "read", "write", "read"]
        kinds += ["read" if rng.random() < 0.6 else "write" for _ in range(n - 3)]
        return kinds, ()
    if prop == "expired waiter":
        return ["write"] * n, (int(rng.integers(1, n - 1)),)
    return ["write"] * n, ()


def zk_lock_trial(wait_for: Fn, seed: int, prop: str) -> Trial:
    """E9.4, one property of :data:`ZK_PROPERTIES`, with contenders that ask ``wait_for``.

    ``fifo``: writers get the lock one at a time, in the order they asked; ``one
    notification``: each release wakes exactly one waiter (no herd); ``expired waiter``: a
    waiter's session expires while it waits, the one behind it still gets the lock in turn;
    ``read/write``: readers share, a writer is alone, and no one overtakes an earlier writer.
    """
    if prop not in ZK_PROPERTIES:
        raise ValueError(f"prop={prop!r} is not allowed: expected one of {ZK_PROPERTIES}")
    trial = Trial(seed)
    kinds, expire = _kinds(seed, prop)

    def rule(children: list[str], me: str) -> str | None:
        target = wait_for(list(children), me)
        if target is not None and (type(target) is not str or target not in children or target == me):
            raise StudentError(f"wait_for({children!r}, {me!r}) returned {target!r}: expected None or another "
                               "name from children")
        return target

    try:
        run = zkrw.contend(kinds, seed=seed, expire=expire, names=zkrw.CURATOR, rule=rule, timeout_ms=20_000)
    except StudentError as e:
        return trial.fail(str(e))
    trial.trace = run.ensemble.sim.trace
    failures = []
    order = [c.name for c in run.contenders if c.name not in {run.contenders[i].name for i in expire}]
    grants = run.log.grants()
    missing = [n for n in order if n not in grants]
    if missing:
        failures.append(f"{', '.join(missing)} never got the lock (kinds {kinds})")
    failures += run.log.violations()[:3]
    if prop in ("fifo", "expired waiter") and grants != [g for g in order if g in grants]:
        failures.append(f"grants came in the order {grants}, not the order of the requests {order}")
    if prop == "one notification" and run.notifications > len(kinds) - 1:
        failures.append(f"{len(kinds) - 1} releases woke waiters {run.notifications} times: each release must "
                        "wake only the waiter behind it")
    if prop == "read/write":
        seq = {c.name: i for i, c in enumerate(run.contenders)}
        granted_at = {name: t for t, name, _, ev in run.log.rows if ev == "granted"}
        released_at = {name: t for t, name, _, ev in run.log.rows if ev == "released"}
        for w in [c.name for c in run.contenders if c.kind == "write"]:
            early = [n for n in granted_at if seq[n] > seq[w] and w in granted_at and granted_at[n] < granted_at[w]]
            if early:
                failures.append(f"{', '.join(early)} got the lock before the earlier writer {w}")
        for a, b in zip(run.contenders, run.contenders[1:], strict=False):
            if a.kind == b.kind == "read" and a.name in granted_at and b.name in granted_at \
                    and granted_at[b.name] >= released_at.get(a.name, math.inf):
                failures.append(f"readers {a.name} and {b.name} asked one after the other but did not share the lock")
    note = "the contenders' nodes: " + ", ".join(f"{c.name}={c.node}" for c in run.contenders)
    return _report(trial, failures, None, run.ensemble.sim.now, note=note)


def reference_wait_for(children: list[str], me: str) -> str | None:
    """The library's rule (:func:`.zkrw.blocker`) with Curator's node names."""
    def seq(name: str) -> int:
        return int(name[-10:])

    kinds = ("__WRIT__", "__READ__") if "__WRIT__" in me else ("__WRIT__",)
    earlier = [c for c in children if any(k in c for k in kinds) and seq(c) < seq(me)]
    return max(earlier, key=seq) if earlier else None


__all__ = ["FENCE_FAULTS", "RLOCK_PROPERTIES", "ZK_PROPERTIES", "StudentError", "break_trial", "fence_trial",
           "fenced_resource", "redlock_client", "redlock_rule_trial", "redlock_run_trial", "reference_fence",
           "reference_rlock_script", "reference_wait_for", "restart_trial", "rlock_trial", "scripted_server",
           "zk_lock_trial"]
