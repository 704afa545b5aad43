"""Trusted harness for Chapter 16's graded exercise E16.1, "MiniMall under a nemesis"
(``from dscourse.capstone import exercises``; then also ``ds.capstone.exercises``).

The student writes MiniMall's **order service**: a :class:`dscourse.sim.Node` class that
places an order end to end as an orchestrated Saga (Garcia-Molina & Salem, "Sagas", SIGMOD
1987, backward recovery): an order number from a Leaf-style segment service (Leaf's
"segment" mode: one round trip per range of ids, the range's top durable at the id service),
a charge at the payment service, the SKU's fenced lock (Kleppmann, "How to do distributed
locking", 2016: a lease plus a fencing token the storage checks; Burrows, "Chubby", OSDI 2006,
sequencers), a read and a fenced write of the stock, the refund when the stock is short, and
the answer to the client. Every request carries an idempotency key, so a retry after a lost
reply is applied once (Helland, "Idempotence is not a medical condition", CACM 55(5), 2012).

The harness owns everything else (:mod:`.exercises_platform`): the clients behind the gateway (each
user's requests go to one of two order-service instances, ``o1`` and ``o2``, and are retried
with the same request id until answered), the id service, the lock service, the inventory and
the payment service. They speak plain data (dicts of str, int and lists), because the
student's node runs in the grader's sandbox, where no library class exists. A combined
nemesis (:func:`combined_nemesis`: loss, duplication and reordering on every link, crashes and
restarts, stop-the-world pauses and a slow link to the inventory, both longer than the lock's
lease, partitions, clock jumps) runs until the global stabilization time (GST); then the
network heals and every client must have its answer by a deadline. :func:`order_trial` judges
one seed; :func:`story` prints a run as the platform saw it (the feedback's replay line).

The monitors judge the platform's own state, never what the student's node says about itself:

* ``no oversell`` (safety, after every event): stock plus the units of completed orders never
  exceeds the initial stock, and no stock level is negative;
* ``money conserved`` (safety, after every event): no order's net charge (charges minus
  refunds) ever leaves ``[0, price]``: no double charge, no refund of money never taken;
* ``completed or compensated`` (liveness, by the deadline after GST): every request is
  answered; a completed order was charged, every other order made for the request (a
  rejected one, a duplicate) was refunded and took no stock, and a request is rejected only
  when the payment service declined it or its stock is short;
* ``unique order numbers`` (safety, after every event): an order number serves one request;
* ``efficiency``: ids fetched a segment at a time, and no retry storm.

With no order completed, the safety properties and efficiency fail as held only vacuously.

The curriculum's two other end-to-end invariants (gray cohorts stable; the gateway never
routes to a provider whose registry session expired) belong to the platform's gateway and
registry, which the student's order service does not touch; Chapter 16 checks them on
``ds.capstone.minimall``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import allowed
from ..history import Recorder
from ..sim import Network, Node, Simulation, Uniform, lossy, stream
from .exercises_platform import (
    CLIENT_RETRY_MS,
    GST_MS,
    LEASE_MS,
    ORDER_SERVICES,
    PROPERTIES,
    SERVICES,
    SKUS,
    STEP,
    USERS,
    AnswerError,
    Clients,
    IdService,
    LockService,
    PaymentService,
    Platform,
    StockService,
    plain,
)

__all__ = [
    "CLIENT_RETRY_MS", "DEADLINE_MS", "GST_MS", "KINDS", "LATENCY", "LEASE_MS", "MAX_SENDS_PER_REQUEST",
    "ORDER_SERVICES", "PROPERTIES", "SERVICES", "SKUS", "STEP", "USERS", "AnswerError", "Clients",
    "IdService", "LockService", "PaymentService", "Platform", "StockService", "build",
    "combined_nemesis", "finish", "order_trial", "plain", "run", "story",
]

MAX_SENDS_PER_REQUEST = 60   # efficiency: messages the order services send per request
DEADLINE_MS = 3000.0      # after GST, for every answer
LATENCY = Uniform(1.0, 8.0)    # every link's latency (ms) outside a slow_link fault
KINDS = ("pause", "pause", "slow_link", "slow_link", "crash", "partition", "clock_jump")
Make = Callable[..., Node]


def _instrument(node: Node, world: Platform) -> Node:
    send = node.send

    def counted(dst: str, msg: Any) -> int:
        world.sends += 1
        return send(dst, msg)

    node.__dict__["send"] = counted
    return node


def combined_nemesis(world: Platform) -> list[tuple[float, tuple[Any, ...]]]:
    """The order services' faults until GST (stream ``E16.1/nemesis``), one at a time: crashes
    and restarts, partitions from the platform, clock jumps, a slow link to the inventory
    (200-400 ms each way: a read outlives the lock's lease, the delayed-packet case of
    Kleppmann's example), and stop-the-world pauses longer than the lease, each started 16-30
    ms after a request reaches the victim (when it is likely to hold a lock: the GC pause of
    the same example). Besides these, each instance crashes once for 60-150 ms."""
    rng = stream(world.seed, "E16.1/nemesis")
    out: list[tuple[float, tuple[Any, ...]]] = []
    busy: dict[str, list[tuple[float, float]]] = {n: [] for n in ORDER_SERVICES}   # paused or down
    t = float(int(rng.uniform(50, 200)))
    while True:
        victim = ORDER_SERVICES[int(rng.integers(2))]
        kind = KINDS[int(rng.integers(len(KINDS)))]
        dur = float(int(rng.uniform(150, 450)))
        if kind == "pause":
            due = sorted(r["at"] for r in world.requests.values() if r["to"] == victim and r["at"] >= t)
            t = due[0] + float(int(rng.uniform(16, 30))) if due else t
        if t + dur > GST_MS - 100:
            break
        if kind in ("pause", "crash"):
            busy[victim].append((t, t + dur))
        if kind == "pause":
            out.append((t, ("pause", victim, dur)))
        elif kind == "crash":
            out += [(t, ("crash", victim)), (t + dur, ("recover", victim))]
        elif kind == "partition":
            out += [(t, ("partition", [[victim], [n for n in (*SERVICES, *ORDER_SERVICES) if n != victim]])),
                    (t + dur, ("heal",))]
        elif kind == "slow_link":
            out += [(t, ("slow_link", victim, "stock", Uniform(200.0, 400.0))),
                    (t + dur, ("slow_link", victim, "stock", LATENCY))]
        else:
            out.append((t, ("clock_jump", victim, float(int(rng.uniform(-200, 200))))))
        t += dur + float(int(rng.uniform(10, 60)))
    for n in ORDER_SERVICES:                    # and each instance crashes and restarts once more
        for _ in range(20):
            at, down = float(int(rng.uniform(200, GST_MS - 400))), float(int(rng.uniform(60, 150)))
            if all(e < at - 1 or b > at + down + 1 for b, e in busy[n]):
                out += [(at, ("crash", n)), (at + down, ("recover", n))]
                break
    return sorted(out, key=lambda entry: entry[0])


def build(OrderService: Any, seed: int, *, make: Make | None = None, requests: int = 30,
          nemesis: bool = True) -> tuple[Platform, Simulation, Recorder]:
    """One MiniMall, not yet run, with the student's ``OrderService`` as ``o1`` and ``o2``
    (``make(cls, node_id)`` builds them: the sandbox's ``make_node`` in the grader). Until
    ``GST_MS`` links lose 5% and duplicate 5% of messages with 1-8 ms latency and the
    :func:`combined_nemesis` runs (``nemesis=False``: a quiet network, no faults)."""
    world = Platform(seed, requests)
    sim = Simulation(seed=seed, network=lossy(drop=0.05, duplicate=0.05, latency=LATENCY)
                     if nemesis else Network(latency=LATENCY, name="quiet"))
    history = Recorder(sim)
    sim.add_node(Clients("gw", world, history))
    for cls, name in ((IdService, "ids"), (LockService, "lock"), (StockService, "stock"), (PaymentService, "pay")):
        sim.add_node(cls(name, world))
    build_node = make or (lambda cls, node_id: cls(node_id))
    for n in ORDER_SERVICES:
        sim.add_node(_instrument(build_node(OrderService, n), world))
    if nemesis:
        sim.schedule_nemesis(combined_nemesis(world))
    return world, sim, history


def finish(world: Platform, sim: Simulation) -> None:
    """Run to GST, heal the network (no loss, no duplicates, crashed services restarted) and
    run ``DEADLINE_MS`` more."""
    sim.run(until=GST_MS)
    sim.heal()
    names = (*SERVICES, *ORDER_SERVICES)
    for a in names:
        for b in names:
            if a != b:
                sim.set_link(a, b, drop=0.0, duplicate=0.0)
    for n in ORDER_SERVICES:
        if sim.status(n) == "crashed":
            sim.recover(n)
    world.restarts = sum(1 for e in sim.trace.events if e.kind == "recover")
    sim.run(until=GST_MS + DEADLINE_MS)


def run(OrderService: Any, seed: int, *, make: Make | None = None, requests: int = 30,
        nemesis: bool = True) -> tuple[Platform, Simulation, Recorder]:
    """:func:`build` and :func:`finish`: one whole run."""
    world, sim, history = build(OrderService, seed, make=make, requests=requests, nemesis=nemesis)
    finish(world, sim)
    return world, sim, history


def _outcomes(world: Platform) -> None:
    """``completed or compensated`` at the deadline (liveness)."""
    end = GST_MS + DEADLINE_MS
    missing = [r for r in world.requests if r not in world.answers]
    if missing:
        world.violate("completed or compensated", f"{len(missing)} request(s) never answered by the "
                      f"deadline ({DEADLINE_MS:g} ms after GST), e.g. {missing[0]} "
                      f"{ {k: world.requests[missing[0]][k] for k in ('user', 'sku', 'qty')} }", end, missing[0])
        return
    by_req: dict[str, list[int]] = {}
    for n, of in world.order_req.items():
        by_req.setdefault(of, []).append(n)
    for req, a in world.answers.items():
        r = world.requests[req]
        for n in sorted(by_req.get(req, [])):
            units = world.units.get(n, 0)
            charges, refunds = world.charges.get(n, 0), world.refunds.get(n, 0)
            if a["status"] == "completed" and n == a["order"]:
                if charges == 0 or refunds:
                    world.violate("completed or compensated", f"{req} was answered completed (order {n}), "
                                  f"but the payment service applied {charges} charge(s) and {refunds} "
                                  "refund(s) for it: a completed order is paid for", end, req)
            elif (charges and not refunds) or units:
                why = "rejected" if a["status"] == "rejected" else \
                    f"answered with order {a['order']}, so order {n} is a second order for it"
                world.violate("completed or compensated", f"{req} was {why}, yet order {n} was charged "
                              f"{charges} time(s) and refunded {refunds} time(s), and holds {units} unit(s) "
                              f"of {r['sku']}: not compensated", end, req)


def _vacuous(world: Platform) -> None:
    """With no order completed, the safety properties and efficiency held only vacuously: a
    service must sell to earn them (as a channel must deliver to earn "in order")."""
    if any(a["status"] == "completed" for a in world.answers.values()):
        return
    for p in ("no oversell", "money conserved", "unique order numbers", "efficiency"):
        world.violate(p, "no order was completed, so this held only vacuously (a service must sell "
                      "to earn it)", GST_MS + DEADLINE_MS)


def _efficiency(world: Platform) -> None:
    numbered = len(world.order_req)
    budget = math.ceil(numbered / STEP) + 2 * world.restarts + 4
    end = GST_MS + DEADLINE_MS
    if world.segments > budget:
        world.violate("efficiency", f"the id service was asked for {world.segments} segments for "
                      f"{numbered} order numbers ({STEP} ids each, {world.restarts} restart(s)): at most "
                      f"{budget}; take numbers from the segment you hold", end)
    per = world.sends / max(1, len(world.requests))
    if per > MAX_SENDS_PER_REQUEST:
        world.violate("efficiency", f"the order services sent {world.sends} messages for "
                      f"{len(world.requests)} requests ({per:.0f} each, at most {MAX_SENDS_PER_REQUEST}): "
                      "a retry storm? retry on a timer of tens of ms, not on every message", end)


def order_trial(OrderService: Any, seed: int, *, make: Make | None = None, requests: int = 30,
                properties: Iterable[str] = PROPERTIES) -> Trial:
    """E16.1 on one seed: the :func:`run`, judged on ``properties`` (of :data:`PROPERTIES`).
    A message the platform cannot use ends the trial with a violation that names it; an
    exception in the student's code propagates (the grader reports it)."""
    props = selected(properties, PROPERTIES)
    if isinstance(requests, bool) or not isinstance(requests, int) or not 1 <= requests <= 200:
        raise allowed("requests", requests, "an int from 1 to 200")
    trial = Trial(seed)
    world, sim, _ = build(OrderService, seed, make=make, requests=requests)
    trial.trace = sim.trace
    try:
        finish(world, sim)
    except AnswerError as exc:
        return trial.fail(f"unusable message (seed {seed}, t={sim.now:g} ms): {exc}")
    _outcomes(world)
    _efficiency(world)
    _vacuous(world)
    trial.facts.update(answered=len(world.answers),
                       completed=sum(a["status"] == "completed" for a in world.answers.values()),
                       segments=world.segments, sends=world.sends, restarts=world.restarts,
                       stock=dict(world.stock))
    replay = f"see the run: print(ds.capstone.exercises.story(OrderService, seed={seed}))"
    for p in props:
        for m in world.problems[p]:
            trial.violate(f"{p}: seed {seed}, {m}; {replay}", world.at)
    return trial


NEMESIS_EVENTS = ("crash", "recover", "pause", "resume", "partition", "heal", "clock_jump", "link")


def story(OrderService: Any, seed: int, *, requests: int = 30, around: float | None = None,
          window_ms: float = 400.0, req: str | None = None) -> str:
    """What happened in one run, as the platform saw it: the faults, every message the order
    services sent or received (``drop``: lost on the way), and the monitors' findings.
    Only the ``window_ms`` before ``around`` (default: the first violation; the whole run if
    none) is shown, or with ``req`` (default: the request of a failed liveness property) only
    that request's messages (its order numbers too)."""
    world, sim, _ = build(OrderService, seed, requests=requests)
    error = None
    try:
        finish(world, sim)
        _outcomes(world)
        _efficiency(world)
        _vacuous(world)
    except AnswerError as exc:
        error = f"unusable message at t={sim.now:g} ms: {exc}"
    if req is None and around is None:
        req = world.focus
    at = around if around is not None else world.at if world.at is not None else sim.now
    lo = -math.inf if req is not None or (around is None and world.at is None) else at - window_ms
    numbers = {n for n, r in world.order_req.items() if r == req}
    lines = []
    for e in sim.trace.events:
        t = e.time / 1000
        if t < lo or t > at + 1:
            continue
        if e.kind in NEMESIS_EVENTS and e.node in (*ORDER_SERVICES, None) and req is None:
            what = f"{e.node} <-> {e.peer} latency {e.data['latency']}" if e.kind == "link" else \
                f"{e.node or ''} {'' if e.data is None else e.data}"
            if e.kind != "link" or e.peer == "stock":
                lines.append(f"{t:9.1f} ms  ** {e.kind} {what}".rstrip())
        elif e.kind in ("deliver", "drop") and ORDER_SERVICES.count(e.node) + ORDER_SERVICES.count(e.peer):
            try:
                msg = plain(e.data, "")
            except AnswerError:
                continue
            if req is not None and msg.get("req") != req and msg.get("order", msg.get("owner")) not in numbers:
                continue
            body = ", ".join(f"{k}={v}" for k, v in msg.items() if k != "type")
            lost = "  (lost)" if e.kind == "drop" else ""
            lines.append(f"{t:9.1f} ms  {e.peer} -> {e.node}  {msg['type']}({body}){lost}")
    found = [f"{p}: {m}" for p in PROPERTIES for m in world.problems[p]]
    return "\n".join([*lines, *([error] if error else []), *(found or ["every property held"])])
