"""State-space exploration of a ``dscourse.sim`` system: a small explicit-state model checker.

After DSLabs (Michael, Woos, Anderson, Ernst & Tatlock, "Teaching Rigorous Distributed
Systems With Efficient Model Checking", EuroSys 2019, §3-4): the simulator's nondeterminism
is turned into explicit choices, and a breadth-first search visits every state reachable
within the bounds the caller sets. The choices in a state are

* ``fire``      -- deliver one pending message, or fire one pending timer;
* ``drop``      -- lose one pending message (at most ``max_drops`` per path);
* ``duplicate`` -- add a second copy of one pending message (at most ``max_duplicates``);
* ``restart``   -- crash a node and recover it at once (at most ``max_restarts``), so it
  keeps only ``stable``.

Time is abstracted away, as in an asynchronous system: any pending message or timer may
happen next, whatever its scheduled time (firing one advances the clock to at least its
time). The kernel's own events due at the start (node starts, nemesis actions at time 0)
run before the search begins; later nemesis actions never run during a search.

States are deduplicated by a canonical key: every node's state (its ``state()`` method if it
has one, else its attributes and ``stable``, frozen), its status, the *multiset* of pending
messages and timers (without ids or times), and the fault budget used so far. The search
keeps the key's 64-bit hash (like SPIN's hash compaction): two distinct states collide with
probability about n²/2⁶⁵ for n states, about 10⁻⁸ for a million. Because the
search is breadth-first, the first path found to a violating state is a shortest one.

The search works on one simulation object and moves it between states with the kernel's
:func:`~dscourse.sim.checkpoint.checkpoint` and :func:`~dscourse.sim.checkpoint.rollback`
(node attributes and messages are pickled, so they must be plain data and node classes
must be defined at the top level of a module or notebook). The default ``engine="compact"``
(:mod:`.explore_compact`) keeps each state as a compact record instead and builds a successor
by running only the receiving node's handler on a fresh copy of that node, resetting the queue
in place and carrying the parent's key over; it does not run a step whose (node, message)
pair ran before without reading anything else (clock, timers, randomness, other nodes, the
ids of the messages it sent) when the step leads to a state already seen, and judges
predicates marked :func:`on_nodes` once per combination of node states. ``engine="incremental"`` uses
:func:`~dscourse.sim.checkpoint.snapshot` and :func:`~dscourse.sim.checkpoint.restore`: each
node is pickled on its own, and after a step only the node it ran on (its attributes, random
streams and outgoing links) is put back. Both require that a handler change only its own
node, as the Node API intends (nodes share nothing but messages). ``engine="checkpoint"`` is
the original search, kept as the reference both agree with state for state.

A counterexample is a list of :class:`Choice` steps; :func:`replay` re-runs it from the seed,
so ``result.trace`` can be drawn with ``ds.viz.spacetime`` and ``result.ops`` loaded into
the message debugger: ``ds.viz.Debugger(make_sim, seed=result.seed)`` then
``debugger.replay(result.ops)`` after adding the ``"restart"`` action (:data:`RESTART`).
"""

from __future__ import annotations

import functools
import gc
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from ..errors import ConfigError, allowed
from ..sim import Simulation
from ..sim.checkpoint import Checkpoint, Snapshot, checkpoint, restore, rollback, snapshot
from ..sim.kernel import Pending
from ..sim.queue import DELIVER, KIND, LABEL, MSG, NODE, PEER, SEQ, TIME, TIMER
from ..sim.rng import stream
from ..sim.trace import Trace

KINDS = ("fire", "drop", "duplicate", "restart")
MODES = ("bfs", "dfs", "random")
ENGINES = ("compact", "incremental", "checkpoint")
_KERNEL_ATTRS = frozenset({"_sim", "rng", "_init_args"})
_ATOMS = (int, float, str, bool, type(None), bytes)

Predicate = Callable[[Simulation], Any]


@dataclass(frozen=True)
class Choice:
    """One nondeterministic step: ``kind`` in :data:`KINDS`; ``target`` a pending id (or the
    node id for ``restart``); ``text`` says what happened, for people."""

    kind: str
    target: int | str
    text: str

    def __str__(self) -> str:
        return f"{self.kind:9} {self.text}"


def restart(sim: Simulation, node_id: str) -> None:
    """The ``restart`` choice: crash ``node_id`` and recover it at once."""
    sim.crash(node_id)
    sim.recover(node_id)


RESTART = ("restart", restart)
"""``debugger.add_action(*RESTART, button=False)`` lets a Debugger replay ``result.ops``."""


@dataclass
class ExploreResult:
    """What a search found.

    ``violation`` names the broken invariant (None if none was found); ``goal`` names the
    goal reached (None if none); ``path`` is the shortest sequence of choices to that state
    (breadth-first) and ``trace``/``sim`` its replay from the seed; ``states`` counts the
    distinct states found; ``depth`` is the deepest level reached; ``complete`` is True when a
    breadth-first search checked every state within the bounds (not cut short by
    ``max_states``; always False for random walks); ``exhausted`` when, moreover, no new state
    was left below ``max_depth`` (every reachable state within the fault budgets was checked);
    ``elapsed`` is wall-clock seconds, for reporting only.
    """

    violation: str | None
    goal: str | None
    path: tuple[Choice, ...]
    states: int
    depth: int
    complete: bool
    exhausted: bool
    elapsed: float
    seed: int
    initial_steps: int
    sim: Simulation | None = field(default=None, repr=False)

    @property
    def trace(self) -> Trace | None:
        """The trace of the counterexample (or of the path to the goal)."""
        return None if self.sim is None else self.sim.trace

    @property
    def ops(self) -> list[tuple[Any, ...]]:
        """The path as message-debugger operations (see the module docstring)."""
        out: list[tuple[Any, ...]] = [("step", self.initial_steps)] if self.initial_steps else []
        for c in self.path:
            out.append(("action", "restart", c.target) if c.kind == "restart" else (c.kind, c.target))
        return out

    def summary(self) -> str:
        """A deterministic one-paragraph description (no timings)."""
        what = (f"violation of {self.violation!r}" if self.violation else
                f"goal {self.goal!r} reached" if self.goal else
                "no violation" + (" in every reachable state" if self.exhausted else
                                  " within the bounds" if self.complete else
                                  " found (search cut short)"))
        lines = [f"{what}; {self.states} states, depth {self.depth}"]
        if self.path:
            lines.append(f"shortest path ({len(self.path)} steps):")
            lines += [f"  {i + 1:2}. {c}" for i, c in enumerate(self.path)]
        return "\n".join(lines)


# -- canonical states ---------------------------------------------------------------------
def freeze(x: Any) -> Any:
    """A hashable, order-insensitive (for dicts and sets) rendering of plain data."""
    t = type(x)
    if t in _ATOMS:
        return x
    if t is dict:
        return frozenset((freeze(k), freeze(v)) for k, v in x.items())
    if t is list:
        return tuple(freeze(v) for v in x)
    if t is set:
        return frozenset(freeze(v) for v in x)
    try:
        hash(x)
        return x
    except TypeError:
        pass
    if t is tuple:
        return tuple(freeze(v) for v in x)
    if t is frozenset:
        return frozenset(freeze(v) for v in x)
    if is_dataclass(x):
        return (t.__name__, tuple(freeze(getattr(x, f.name)) for f in fields(x)))
    if isinstance(x, (list, tuple)):
        return tuple(freeze(v) for v in x)
    if isinstance(x, dict):
        return frozenset((freeze(k), freeze(v)) for k, v in x.items())
    if hasattr(x, "__dict__"):
        return (t.__name__, freeze(vars(x)))
    return repr(x)


def node_state(node: Any) -> Any:
    """A node's part of the canonical state: ``node.state()`` if defined, else its attributes
    (including ``stable``) minus the kernel's bookkeeping."""
    custom = getattr(node, "state", None)
    if callable(custom):
        return freeze(custom())
    return frozenset((k, freeze(v)) for k, v in vars(node).items() if k not in _KERNEL_ATTRS)


def canonical(sim: Simulation) -> tuple[Any, ...]:
    """The canonical key of a simulation state (see the module docstring)."""
    nodes = tuple((nid, sim.status(nid), node_state(n)) for nid, n in sim.nodes.items())
    net = Counter((p.kind, p.node, p.peer, p.label, freeze(p.msg)) for p in sim.pending())
    return nodes, frozenset(net.items())


# -- choices ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bounds:
    """Fault budgets per path and the nodes that may be restarted."""

    max_drops: int = 0
    max_duplicates: int = 0
    max_restarts: int = 0
    restartable: tuple[str, ...] = ()
    timers: bool = True


def _describe(p: Any) -> str:
    if p.kind == "deliver":
        return f"{p.peer} -> {p.node}  {p.msg!r}"
    return f"timer {p.label!r} on {p.node}"


def choices(sim: Simulation, used: tuple[int, int, int], bounds: Bounds) -> list[Choice]:
    """Every choice available in ``sim`` given the budget ``used`` (drops, duplicates,
    restarts); identical pending messages give one choice each kind."""
    out: list[Choice] = []
    seen: set[Any] = set()
    for p in sim.pending():
        if p.kind == "timer" and not bounds.timers:
            continue
        key = (p.kind, p.node, p.peer, p.label, freeze(p.msg))
        if key in seen:
            continue
        seen.add(key)
        text = _describe(p)
        out.append(Choice("fire", p.id, text))
        if p.kind == "deliver":
            if used[0] < bounds.max_drops:
                out.append(Choice("drop", p.id, text))
            if used[1] < bounds.max_duplicates:
                out.append(Choice("duplicate", p.id, text))
    if used[2] < bounds.max_restarts:
        for nid in bounds.restartable:
            if sim.status(nid) == "up":
                out.append(Choice("restart", nid, f"{nid} crashes and recovers"))
    return out


def apply(sim: Simulation, choice: Choice) -> None:
    """Perform ``choice`` on ``sim``."""
    kind, target = choice.kind, choice.target
    if kind not in KINDS:
        raise allowed("choice kind", kind, f"one of {', '.join(KINDS)}")
    if kind == "restart":
        if not isinstance(target, str):
            raise allowed("restart target", target, "a node id")
        restart(sim, target)
        return
    if not isinstance(target, int):
        raise allowed(f"{kind} target", target, "a pending event id")
    if kind == "fire":
        sim.fire(target)
    elif kind == "drop":
        sim.drop(target)
    else:
        sim.duplicate(target)


def _spend(used: tuple[int, int, int], choice: Choice) -> tuple[int, int, int]:
    d, u, r = used
    if choice.kind == "drop":
        return d + 1, u, r
    if choice.kind == "duplicate":
        return d, u + 1, r
    if choice.kind == "restart":
        return d, u, r + 1
    return used


def settle(sim: Simulation) -> int:
    """Run the kernel's own events that come before any delivery or timer; returns how many."""
    n = 0
    while True:
        p = sim.peek()
        if p is None or p.kind in ("deliver", "timer"):
            return n
        sim.step()
        n += 1


def replay(make_sim: Callable[[int], Simulation], seed: int, path: Iterable[Choice]) -> Simulation:
    """Rebuild ``make_sim(seed)`` and perform ``path``: the run a search result describes."""
    sim = make_sim(seed)
    settle(sim)
    for choice in path:
        apply(sim, choice)
    return sim


# -- predicates ---------------------------------------------------------------------------
def _named(what: str, preds: Any) -> list[tuple[str, Predicate]]:
    if preds is None:
        return []
    if callable(preds):
        preds = [preds]
    if isinstance(preds, Mapping):
        items = list(preds.items())
    else:
        try:
            items = [(getattr(p, "__name__", repr(p)), p) for p in preds]
        except TypeError:
            raise allowed(what, preds, "a function sim -> bool, a list of them, or a dict name -> function") from None
    for name, p in items:
        if not callable(p):
            raise allowed(f"{what} {name!r}", p, "a function sim -> bool")
    return [(str(n), p) for n, p in items]


class OnNodes:
    """A predicate that reads only the nodes' attributes: see :func:`on_nodes`."""

    reads_nodes = True

    def __init__(self, predicate: Predicate) -> None:
        if not callable(predicate):
            raise allowed("predicate", predicate, "a function sim -> bool")
        self.predicate = predicate
        self.__name__ = getattr(predicate, "__name__", repr(predicate))
        self.__doc__ = getattr(predicate, "__doc__", None)

    def __call__(self, sim: Simulation) -> Any:
        return self.predicate(sim)

    def __repr__(self) -> str:
        return f"on_nodes({self.__name__})"


def on_nodes(predicate: Predicate) -> OnNodes:
    """Declare that ``predicate`` (an invariant, goal or prune) reads nothing but the nodes'
    attributes (not the pending messages, the trace, the clock or the statuses): the compact
    search then remembers its value per combination of node states and does not run it
    again on a state whose nodes are all as in one judged before."""
    return OnNodes(predicate)


def _first(preds: list[tuple[str, Predicate]], sim: Simulation, want: bool) -> str | None:
    for name, p in preds:
        if bool(p(sim)) is want:
            return name
    return None


def _check_int(what: str, value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise allowed(what, value, f"an int >= {low}")
    return value


# -- the search ---------------------------------------------------------------------------
def explore(make_sim: Callable[[int], Simulation], invariants: Any = None, *, seed: int = 0,
            goals: Any = None, prunes: Any = None, max_depth: int = 30, max_drops: int = 0,
            max_duplicates: int = 0, max_restarts: int = 0, restartable: Iterable[str] = (),
            timers: bool = True, max_states: int | None = None, mode: str = "bfs",
            walks: int = 200, engine: str = "compact",
            symmetry: Iterable[Iterable[str]] | None = None) -> ExploreResult:
    """Search the states of ``make_sim(seed)`` for one that breaks an invariant.

    ``invariants``, ``goals`` and ``prunes`` are functions ``sim -> bool`` (one, a list, or a
    dict name -> function): an invariant must hold in every state; reaching a goal ends the
    search; a state where a prune holds is not expanded. ``mode="bfs"`` (breadth-first,
    shortest counterexamples, deduplicated states) or ``"random"`` (``walks`` random walks
    of up to ``max_depth`` steps, drawn from the stream ``"explore"``: no dedup, quick to
    find deep bugs, no proof) or ``"dfs"`` (depth-first with the same deduplication, for
    memory: only the states along the current path and their siblings are kept, not a whole
    breadth-first level; its counterexamples need not be shortest, and it is ``complete``
    only if no state was cut at ``max_depth``, when it has seen the same states as
    breadth-first). Bounds: see :class:`Bounds` and the module docstring.
    ``engine`` (breadth-first only): ``"compact"`` (compact states, successors built by running
    only the receiving node; the default), ``"incremental"`` (per-node snapshots, keys carried
    over from the parent) or ``"checkpoint"`` (the original search: the whole simulation
    checkpointed and the key rebuilt per state), kept as the reference the others must agree
    with state for state. ``symmetry`` (compact breadth-first only): groups of interchangeable
    node ids, e.g. ``[("a1", "a2", "a3")]``; the search keeps one state per orbit
    (:mod:`.explore_symmetry` says when that is sound), so it counts fewer states.
    """
    if not callable(make_sim):
        raise allowed("make_sim", make_sim, "a function seed -> Simulation")
    if mode not in MODES:
        raise allowed("mode", mode, f"one of {', '.join(MODES)}")
    if engine not in ENGINES:
        raise allowed("engine", engine, f"one of {', '.join(ENGINES)}")
    _check_int("max_depth", max_depth, 1)
    _check_int("walks", walks, 1)
    if max_states is not None:
        _check_int("max_states", max_states, 1)
    bounds = Bounds(_check_int("max_drops", max_drops), _check_int("max_duplicates", max_duplicates),
                    _check_int("max_restarts", max_restarts), tuple(restartable), bool(timers))
    inv, gls, prn = _named("invariants", invariants), _named("goals", goals), _named("prunes", prunes)
    if not inv and not gls:
        raise allowed("invariants", invariants, "at least one invariant or goal")
    start = time.perf_counter()
    root = make_sim(seed)
    if not isinstance(root, Simulation):
        raise allowed("make_sim(seed)", root, "a ds.sim.Simulation")
    for nid in bounds.restartable:
        root.status(nid)   # unknown ids raise UnknownNodeError
    steps = settle(root)
    if symmetry is not None and (mode == "random" or engine != "compact"):
        raise allowed("symmetry", symmetry, 'None unless mode="bfs" or "dfs" and engine="compact"')
    if mode == "dfs" and engine != "compact":
        raise allowed("engine", engine, '"compact" with mode="dfs"')
    if mode == "random":
        search = _random
    elif engine == "compact":
        from .explore_compact import bfs_compact
        search = functools.partial(bfs_compact, symmetry=symmetry, dfs=mode == "dfs")
    else:
        search = _bfs_fast if engine == "incremental" else _bfs
    collecting = gc.isenabled()
    gc.disable()   # the set of seen states holds millions of objects: no cycles to collect there
    try:
        violation, goal, path, states, depth, complete, exhausted = search(
            root, bounds, inv, gls, prn, max_depth, max_states, seed, walks)
    finally:
        if collecting:
            gc.enable()
    sim = replay(make_sim, seed, path) if (violation or goal) else None
    return ExploreResult(violation, goal, tuple(path), states, depth, complete, exhausted,
                         time.perf_counter() - start, seed, steps, sim)


def _save(sim: Simulation) -> Checkpoint:
    try:
        return checkpoint(sim)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ConfigError(f"cannot checkpoint the simulation ({exc}): node attributes and "
                          "messages must be picklable data, node classes defined at module or "
                          "notebook top level") from None


def _bfs(root: Simulation, bounds: Bounds, inv: list, gls: list, prn: list, max_depth: int,
         max_states: int | None, seed: int, walks: int) -> tuple:
    parents: list[int] = [-1]
    moves: list[Choice | None] = [None]

    path_to = functools.partial(path_of, parents, moves, None)

    sim = root
    used0 = (0, 0, 0)
    seen = {hash((canonical(sim), used0))}
    bad, goal = _first(inv, sim, False), _first(gls, sim, True)
    if bad or goal:
        return bad, goal, [], 1, 0, True, False
    frontier = [] if _first(prn, sim, True) else [(0, _save(sim), used0)]
    depth = 0
    cut = False                     # a new state was left unexpanded at max_depth
    while frontier and depth < max_depth:
        depth += 1
        nxt = []
        for index, cp, used in frontier:
            rollback(sim, cp)
            options = choices(sim, used, bounds)
            for k, choice in enumerate(options):
                if k:
                    rollback(sim, cp)
                apply(sim, choice)
                spent = _spend(used, choice)
                key = hash((canonical(sim), spent))
                if key in seen:
                    continue
                seen.add(key)
                parents.append(index)
                moves.append(choice)
                me = len(moves) - 1
                bad, goal = _first(inv, sim, False), _first(gls, sim, True)
                if bad or goal:
                    return bad, goal, path_to(me), len(seen), depth, True, False
                if max_states is not None and len(seen) >= max_states:
                    return None, None, [], len(seen), depth, False, False
                if not _first(prn, sim, True):
                    if depth < max_depth:
                        nxt.append((me, _save(sim), spent))
                    else:
                        cut = True
        frontier = nxt
    return None, None, [], len(seen), depth, True, not frontier and not cut


def _random(root: Simulation, bounds: Bounds, inv: list, gls: list, prn: list, max_depth: int,
            max_states: int | None, seed: int, walks: int) -> tuple:
    rng = stream(seed, "explore")
    cp = _save(root)
    bad, goal = _first(inv, root, False), _first(gls, root, True)
    if bad or goal:
        return bad, goal, [], 1, 0, False, False
    visited = 0
    deepest = 0
    for _ in range(walks):
        rollback(root, cp)
        sim, used, path = root, (0, 0, 0), []
        for step in range(max_depth):
            options = choices(sim, used, bounds)
            if not options or _first(prn, sim, True):
                break
            choice = options[int(rng.integers(len(options)))]
            apply(sim, choice)
            used = _spend(used, choice)
            path.append(choice)
            visited += 1
            deepest = max(deepest, step + 1)
            bad, goal = _first(inv, sim, False), _first(gls, sim, True)
            if bad or goal:
                return bad, goal, path, visited, deepest, False, False
            if max_states is not None and visited >= max_states:
                return None, None, [], visited, deepest, False, False
    return None, None, [], visited, deepest, False, False


# -- the fast breadth-first search ---------------------------------------------------------
_PENDING_KINDS = {DELIVER: "deliver", TIMER: "timer"}


def _net(sim: Simulation) -> Counter:
    """The pending part of :func:`canonical`, read straight from the kernel's queue."""
    names = _PENDING_KINDS
    return Counter((names[e[KIND]], e[NODE], e[PEER], e[LABEL], freeze(e[MSG]))
                   for e in sim._heap if e[KIND] in names)


def _options(snap: Snapshot, used: tuple[int, int, int], bounds: Bounds,
             status: Callable[[str], str]) -> list[tuple[str, int | str, tuple | None]]:
    """:func:`choices` from a snapshot's sorted queue: (kind, target, entry) in the same
    order; the text is made only for the choices on a reported path."""
    out: list[tuple[str, int | str, tuple | None]] = []
    seen: set[Any] = set()
    drops, dups = used[0] < bounds.max_drops, used[1] < bounds.max_duplicates
    for e in snap.entries:
        kind = e[KIND]
        if kind == DELIVER or (kind == TIMER and bounds.timers):
            key = (kind, e[NODE], e[PEER], e[LABEL], freeze(e[MSG]))
            if key in seen:
                continue
            seen.add(key)
            out.append(("fire", e[SEQ], e))
            if kind == DELIVER:
                if drops:
                    out.append(("drop", e[SEQ], e))
                if dups:
                    out.append(("duplicate", e[SEQ], e))
    if used[2] < bounds.max_restarts:
        for nid in bounds.restartable:
            if status(nid) == "up":
                out.append(("restart", nid, None))
    return out


def path_of(parents: list[int], moves: list, make: Callable[..., Choice] | None, i: int) -> list[Choice]:
    """The moves from the root (index 0, no move) to state ``i``; ``make`` turns a stored move
    tuple into a :class:`Choice` (None: the moves are Choices already)."""
    out: list[Choice] = []
    while i > 0:
        move = moves[i]
        assert move is not None
        out.append(move if make is None else make(*move))
        i = parents[i]
    return out[::-1]


def _choice(kind: str, target: int | str, e: tuple | None) -> Choice:
    if e is None:
        return Choice(kind, target, f"{target} crashes and recovers")
    pending = Pending(e[SEQ], _PENDING_KINDS[e[KIND]], e[TIME], e[NODE], e[PEER], e[LABEL], e[MSG])
    return Choice(kind, target, _describe(pending))


def _bfs_fast(root: Simulation, bounds: Bounds, inv: list, gls: list, prn: list, max_depth: int,
              max_states: int | None, seed: int, walks: int) -> tuple:
    """:func:`_bfs` with the same states in the same order, made cheaper: per-node snapshots
    (a step restores only the node it ran on), node keys carried over from the parent, and
    the pending multiset read from the queue."""
    parents: list[int] = [-1]
    moves: list[tuple | None] = [None]

    path_to = functools.partial(path_of, parents, moves, _choice)

    sim = root
    nodes = sim._nodes
    status = sim.status
    used0 = (0, 0, 0)
    keys0 = tuple((nid, status(nid), node_state(n)) for nid, n in nodes.items())
    position = {nid: i for i, nid in enumerate(nodes)}
    seen = {hash(((keys0, frozenset(_net(sim).items())), used0))}
    bad, goal = _first(inv, sim, False), _first(gls, sim, True)
    if bad or goal:
        return bad, goal, [], 1, 0, True, False
    frontier = [] if _first(prn, sim, True) else [(0, _snap(sim), used0, keys0)]
    depth = 0
    cut = False
    fire, drop, duplicate = sim.fire, sim.drop, sim.duplicate
    loaded: dict[str, bytes] = {}   # what each node was last restored from (see restore)
    while frontier and depth < max_depth:
        depth += 1
        nxt = []
        for index, snap, used, keys in frontier:
            restore(sim, snap, loaded=loaded)
            touched: tuple[str, ...] = ()
            is_restart = False
            for k, (kind, target, e) in enumerate(_options(snap, used, bounds, status)):
                if k:
                    restore(sim, snap, touched, loaded=loaded)
                if kind == "fire":
                    assert e is not None
                    fire(target)  # type: ignore[arg-type]
                    touched, is_restart, spent = (e[NODE],), False, used
                elif kind == "drop":
                    drop(target)  # type: ignore[arg-type]
                    touched, is_restart, spent = (), False, (used[0] + 1, used[1], used[2])
                elif kind == "duplicate":
                    duplicate(target)  # type: ignore[arg-type]
                    touched, is_restart, spent = (), False, (used[0], used[1] + 1, used[2])
                else:
                    assert isinstance(target, str)
                    restart(sim, target)
                    touched, is_restart, spent = (target,), True, (used[0], used[1], used[2] + 1)
                    loaded.pop("", None)
                for nid in touched:
                    loaded.pop(nid, None)
                if touched:
                    new = list(keys)
                    for nid in touched:
                        new[position[nid]] = (nid, status(nid), node_state(nodes[nid]))
                    child_keys = tuple(new)
                else:
                    child_keys = keys
                key = hash(((child_keys, frozenset(_net(sim).items())), spent))
                if key in seen:
                    continue
                seen.add(key)
                parents.append(index)
                moves.append((kind, target, e))
                me = len(moves) - 1
                bad, goal = _first(inv, sim, False), _first(gls, sim, True)
                if bad or goal:
                    return bad, goal, path_to(me), len(seen), depth, True, False
                if max_states is not None and len(seen) >= max_states:
                    return None, None, [], len(seen), depth, False, False
                if not _first(prn, sim, True):
                    if depth < max_depth:
                        child = _snap(sim) if is_restart else _snap(sim, snap, touched)
                        nxt.append((me, child, spent, child_keys))
                    else:
                        cut = True
        frontier = nxt
    return None, None, [], len(seen), depth, True, not frontier and not cut


def _snap(sim: Simulation, parent: Snapshot | None = None, touched: tuple[str, ...] | None = None) -> Snapshot:
    try:
        return snapshot(sim, parent, touched)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ConfigError(f"cannot checkpoint the simulation ({exc}): node attributes and "
                          "messages must be picklable data, node classes defined at module or "
                          "notebook top level") from None
