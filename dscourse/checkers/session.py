"""Session guarantees: read your writes, monotonic reads, writes follow reads, monotonic writes.

Terry et al. (PDIS 1994, "Session Guarantees for Weakly Consistent Replicated Data")
define four promises to one *session* (here: one client of the history). With ``<=`` the
order of versions of a key (the store's *version order*: Bayou's write order, a last-writer-
wins store's timestamps, ABD's tags) and ``src(r)`` the write a read ``r`` returned the value
of, for operations on the same key, in the session's own order:

* **read your writes** (RYW): after the session writes ``w``, its reads return ``w``
  or a newer version: ``w <= src(r)``;
* **monotonic reads** (MR): a later read never returns an older version than an
  earlier one: ``src(r1) <= src(r2)``;
* **writes follow reads** (WFR): a write is ordered after every version the session
  read before it: ``src(r) < w``;
* **monotonic writes** (MW): the session's writes are ordered as it issued them:
  ``w1 < w2``.

These are the per-object forms (as in Viotti and Vukolic, ACM CSUR 2016, with their
arbitration order as the version order). As in Bayou (one write order) and in every store of
Chapter 3 (timestamps), one version order serves all sessions. Terry's MW and WFR also order
writes to different keys, which single-key reads cannot show; :mod:`.causal` judges causal
order across keys (its causal convergence, CCv, implies all four).

**What the checker needs.** Reads-from must be recoverable: within a key, every written
value is unique and none equals the initial value (``None`` for a register, ``""`` for the
key-value store), so each read's source write is known (a history breaking this is a
``ValueError`` naming the value). Sessions are the clients. A write with unknown outcome
(Jepsen's ``info``) counts if some read returned its value and is otherwise left out (it
may never have happened; leaving it out only drops constraints); a read of unknown outcome
observed nothing. A read returning a value no write wrote (a *thin-air* read) fails every
guarantee: no version order can place it.

**Where the version order comes from.** Given (``order={key: values oldest first}``, e.g.
``ds.replication``'s ``Cluster.version_order()``), each guarantee is checked directly, pair
by pair, and every violation names its operations. Without it the checker asks whether
*some* version order satisfies the requested guarantees together: the constraints above are
edges between writes, and they are satisfiable exactly when the edges have no cycle and no
edge ends at the initial version (which precedes every write); a violation is then such a
cycle, each edge named with the session and guarantee that put it there. Alone, a guarantee
is refuted this way only when its own constraints conflict (two sessions reading two writes
in opposite orders); the four together (``GUARANTEES``) pin the order much more.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, allowed
from .models import UNKNOWN, Operation

RYW, MR, WFR, MW = "read-your-writes", "monotonic-reads", "writes-follow-reads", "monotonic-writes"
#: The four guarantees, in the order Terry et al. present them.
GUARANTEES: tuple[str, ...] = (RYW, MR, WFR, MW)
SHORT = {RYW: "RYW", MR: "MR", WFR: "WFR", MW: "MW"}

_DEFAULT: Any = object()
INIT = None
"""The source of a read that returned the initial value (the version before every write)."""


# -- the history as reads-from -------------------------------------------------------------
@dataclass(frozen=True)
class Differentiated:
    """A history with unique written values per key (Bouajjani et al., POPL 2017:
    *differentiated*), in the form the session and causal checkers read.

    ``operations``: every operation kept (reads of unknown outcome and unread writes of
    unknown outcome are left out); ``sessions``: each client's indices into ``operations``
    in issue order; ``key``/``is_write``/``value`` per operation; ``source[i]`` for a read:
    the index of the write it read, :data:`INIT` for the initial value, or ``-1`` for a
    thin-air read (a value no write to that key wrote)."""

    operations: tuple[Operation, ...]
    sessions: dict[Hashable, tuple[int, ...]]
    key: tuple[Any, ...]
    is_write: tuple[bool, ...]
    value: tuple[Any, ...]
    source: dict[int, int | None]
    writes: dict[tuple[Any, Any], int] = field(repr=False)
    init: Any = None

    def describe(self, i: int) -> str:
        """``c1 put('x', 'c1.2')`` / ``c0 get('x') -> 'c1.2'`` with its call time."""
        op = self.operations[i]
        key = "" if self.key[i] is None else f"{self.key[i]!r}"
        if self.is_write[i]:
            sep = ", " if key else ""
            what = f"{'put' if key else 'write'}({key}{sep}{self.value[i]!r})"
        else:
            what = f"{'get' if key else 'read'}({key}) -> {self.value[i]!r}"
        return f"{op.client} {what} at {op.call:g} ms"


def _where(key: Any) -> str:
    return "the register" if key is None else f"key {key!r}"


def _operations(history: Any) -> list[Operation]:
    """Operations of a Recorder, a cluster (anything with ``operations()``) or a list (a
    Recorder's ``("put", (key, value))`` inputs are read as ``("put", key, value)``)."""
    if hasattr(history, "operations") and callable(history.operations):
        ops = history.operations()
    else:
        ops = list(history)
    for op in ops:
        if not isinstance(op, Operation):
            raise allowed("history", op, "Operation records, a dscourse.history.Recorder or a cluster")
    return [Operation(op.client, op.call, op.ret, ("put", *op.input[1]), op.output) if _recorded_put(op.input)
            else op for op in ops]


def _recorded_put(inp: Any) -> bool:
    return (type(inp) is tuple and len(inp) == 2 and inp[0] == "put" and type(inp[1]) is tuple
            and len(inp[1]) == 2)


def _parse(inp: Any) -> tuple[str, Any, Any]:
    """``(kind, key, value)`` of a register or key-value operation; kind "r" or "w"."""
    if type(inp) is tuple:
        if len(inp) == 2 and inp[0] == "read" and inp[1] is None:
            return "r", None, None
        if len(inp) == 2 and inp[0] == "write":
            return "w", None, inp[1]
        if len(inp) == 2 and inp[0] == "get":
            return "r", inp[1], None
        if len(inp) == 3 and inp[0] == "put":
            return "w", inp[1], inp[2]
    raise allowed("operation input", inp,
                  '("read", None), ("write", v), ("get", key) or ("put", key, v): '
                  "session and causal checks judge read/write registers")


def differentiated(history: Any, init: Any = _DEFAULT) -> Differentiated:
    """Check that reads-from is recoverable from ``history`` and recover it (see
    :class:`Differentiated`). ``init``: the initial value (default ``None`` for register
    operations, ``""`` for key-value ones). Raises ``ValueError`` (:class:`ConfigError`) for a
    written value used twice on a key or equal to ``init``, overlapping operations of one
    client, and inputs that are not reads or writes."""
    ops = _operations(history)
    parsed = [_parse(op.input) for op in ops]
    if init is _DEFAULT:
        kv = {key is not None for _, key, _ in parsed}
        if len(kv) > 1:
            raise allowed("history", "register and key-value operations mixed", "one kind")
        init = "" if kv == {True} else None
    writes: dict[tuple[Any, Any], int] = {}
    for i, (kind, key, value) in enumerate(parsed):
        if kind != "w":
            continue
        where = f"{_where(key)}, by {ops[i].client!r} at {ops[i].call:g} ms"
        try:
            hash((key, value))
        except TypeError:
            raise ConfigError(f"written value {value!r} ({where}) is not allowed: expected a hashable "
                              "key and value (str, int, tuple)") from None
        if value == init:
            raise ConfigError(f"written value {value!r} ({where}) is not allowed: expected a value other than "
                              f"the initial value {init!r}, so that a read of it names one write")
        if (key, value) in writes:
            j = writes[key, value]
            raise ConfigError(f"written value {value!r} ({where}) is not allowed: expected values unique per key "
                              f"(it was also written by {ops[j].client!r} at {ops[j].call:g} ms), so that each "
                              "read names its write; e.g. ds.replication's Workload writes '<client>.<k>'")
        writes[key, value] = i
    observed = set()
    for op, (kind, key, _) in zip(ops, parsed, strict=True):
        if kind == "r" and op.output is not UNKNOWN:
            try:
                observed.add((key, op.output))
            except TypeError:
                raise ConfigError(f"read output {op.output!r} ({_where(key)}, by {op.client!r} at {op.call:g} ms) "
                                  "is not allowed: expected a hashable value (str, int, tuple)") from None
    keep = [i for i, (op, (kind, key, value)) in enumerate(zip(ops, parsed, strict=True))
            if not (kind == "r" and op.output is UNKNOWN)
            and not (kind == "w" and op.output is UNKNOWN and (key, value) not in observed)]
    kept = tuple(ops[i] for i in keep)
    kinds = [parsed[i] for i in keep]
    new_index = {old: new for new, old in enumerate(keep)}
    writes = {kv: new_index[i] for kv, i in writes.items() if i in new_index}
    key = tuple(k for _, k, _ in kinds)
    is_write = tuple(kind == "w" for kind, _, _ in kinds)
    value = tuple(v if kind == "w" else op.output for op, (kind, _, v) in zip(kept, kinds, strict=True))
    source: dict[int, int | None] = {}
    for i in range(len(kept)):
        if not is_write[i]:
            source[i] = INIT if value[i] == init else writes.get((key[i], value[i]), -1)
    lanes: dict[Hashable, list[int]] = {}
    for i, op in enumerate(kept):
        lanes.setdefault(op.client, []).append(i)
    sessions = {}
    for client, mine in lanes.items():
        mine.sort(key=lambda i: (kept[i].call, i))
        for a, b in itertools.pairwise(mine):
            if kept[b].call < kept[a].ret < math.inf:
                raise allowed(f"client {client!r}'s operations", (kept[a].call, kept[a].ret, kept[b].call),
                              "one at a time (each called after the previous one returned)")
        sessions[client] = tuple(mine)
    return Differentiated(kept, sessions, key, is_write, value, source, writes, init)


# -- constraints ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    """``before <= after`` (``strict``: ``<``) in the version order of ``key``, required by
    ``guarantee`` because of the session's operations ``first`` then ``then`` (indices into
    the history's operations). ``before``/``after`` are write indices or :data:`INIT`."""

    guarantee: str
    key: Any
    before: int | None
    after: int | None
    strict: bool
    first: int
    then: int


def constraints(h: Differentiated, guarantees: Iterable[str] = GUARANTEES) -> list[Constraint]:
    """Every order constraint the ``guarantees`` put on ``h`` (thin-air reads give none).

    RYW: each own earlier write of the key; MR: the previous read of the key; WFR: every
    earlier read of the key; MW: the previous write of the key (the others follow by
    transitivity of the order)."""
    wanted = set(guarantees)
    for g in wanted:
        if g not in GUARANTEES:
            raise allowed("guarantee", g, f"one of {', '.join(GUARANTEES)}")
    out: list[Constraint] = []
    for mine in h.sessions.values():
        writes: dict[Any, list[int]] = {}
        reads: dict[Any, list[int]] = {}
        for i in mine:
            k = h.key[i]
            if h.is_write[i]:
                if WFR in wanted:
                    seen: set[int | None] = set()
                    for r in reads.get(k, ()):
                        src = h.source[r]
                        if src != -1 and src not in seen:
                            seen.add(src)
                            out.append(Constraint(WFR, k, src, i, True, r, i))
                if MW in wanted and writes.get(k):
                    out.append(Constraint(MW, k, writes[k][-1], i, True, writes[k][-1], i))
                writes.setdefault(k, []).append(i)
                continue
            src = h.source[i]
            if src != -1:
                if RYW in wanted:
                    out.extend(Constraint(RYW, k, w, src, False, w, i) for w in writes.get(k, ()))
                if MR in wanted:
                    prev = [r for r in reads.get(k, ()) if h.source[r] != -1]
                    if prev:
                        out.append(Constraint(MR, k, h.source[prev[-1]], src, False, prev[-1], i))
            reads.setdefault(k, []).append(i)
    return out


# -- verdicts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    """Operations that break ``guarantees`` together (indices into the checked operations),
    and why, in one sentence."""

    guarantees: tuple[str, ...]
    operations: tuple[int, ...]
    explanation: str


class Verdict(ABC):
    """What the session and causal results share: the verdict and the operations it names."""

    outcome: str
    violations: tuple[Any, ...]      # each with ``operations``: indices into ``operations``
    operations: tuple[Operation, ...]

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def core(self) -> tuple[int, ...]:
        """Every operation some violation names (indices into ``operations``), sorted."""
        return tuple(sorted({i for v in self.violations for i in v.operations}))

    def offending(self) -> list[Operation]:
        """The operations of :attr:`core`."""
        return [self.operations[i] for i in self.core]

    @abstractmethod
    def explain(self, limit: int = 3) -> str:
        """The verdict in words: the first line the verdict, then each violation (at most
        ``limit``)."""


@dataclass(frozen=True)
class Result(Verdict):
    """``outcome`` is ``"ok"`` or ``"illegal"``. ``order`` is the version order used (given)
    or one that satisfies the guarantees (found; empty when illegal), per key, values oldest
    first (the initial value not included)."""

    outcome: str
    guarantees: tuple[str, ...]
    violations: tuple[Violation, ...]
    operations: tuple[Operation, ...] = field(repr=False)
    order: dict[Any, tuple[Any, ...]] = field(default_factory=dict, repr=False)
    given_order: bool = False

    def explain(self, limit: int = 3) -> str:
        """The verdict in words: each violation (at most ``limit``) and its operations."""
        names = " + ".join(SHORT[g] for g in self.guarantees)
        if self.ok:
            how = "with the store's version order" if self.given_order else "some version order satisfies them"
            return f"{names}: hold ({len(self.operations)} operations; {how})"
        lines = [f"{names}: violated ({len(self.violations)} violation{'s' * (len(self.violations) != 1)})"]
        lines += [f"  - {v.explanation}" for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines)


def _name(h: Differentiated, w: int | None) -> str:
    return "the initial value" if w is INIT else repr(h.value[w])


def _thin_air(h: Differentiated, guarantees: tuple[str, ...]) -> list[Violation]:
    return [Violation(guarantees, (i,), f"{h.describe(i)}: no write to that key wrote {h.value[i]!r} "
                                        "(a thin-air read), so no version order can place it")
            for i, src in sorted(h.source.items()) if src == -1]


_RULE = {RYW: "read your writes: a read after the session's own write {b} must return it or newer, got {a}",
         MR: "monotonic reads: after reading {a} the session read {b}, an older version",
         WFR: "writes follow reads: the session read {a} and then wrote {b}, which the order puts before it",
         MW: "monotonic writes: the session wrote {a} then {b}, which the order puts before it"}


def _explain_pair(h: Differentiated, c: Constraint) -> str:
    sides = (_name(h, c.after), _name(h, c.before)) if c.guarantee == RYW else \
        (_name(h, c.before), _name(h, c.after))
    text = _RULE[c.guarantee].format(a=sides[0], b=sides[1])
    return f"{text} ({h.describe(c.first)}; then {h.describe(c.then)})"


def _witness(h: Differentiated, c: Constraint) -> tuple[int, ...]:
    ops = {c.first, c.then}
    ops.update(w for w in (c.before, c.after) if w is not INIT and w >= 0)
    return tuple(sorted(ops))


def _check_given(h: Differentiated, wanted: tuple[str, ...], order: Mapping[Any, Sequence[Any]]) -> Result:
    rank: dict[int | None, int] = {INIT: -1}
    versions: dict[Any, tuple[Any, ...]] = {}
    positions: dict[Any, dict[Any, int]] = {}
    for (key, value), w in h.writes.items():
        if key not in order:
            raise allowed("order", f"no entry for key {key!r}", "each written key's values, oldest first")
        if key not in versions:
            versions[key] = tuple(order[key])
            positions[key] = {v: i for i, v in enumerate(versions[key])}
        if value not in positions[key]:
            raise allowed(f"order[{key!r}]", versions[key], f"a sequence including every value written to "
                                                            f"{key!r} (missing {value!r})")
        rank[w] = positions[key][value]
    violations = _thin_air(h, wanted)
    for c in constraints(h, wanted):
        before, after = rank[c.before], rank[c.after]
        if before > after or (c.strict and before == after):
            violations.append(Violation((c.guarantee,), _witness(h, c), _explain_pair(h, c)))
    violations.sort(key=lambda v: v.operations)
    return Result("illegal" if violations else "ok", wanted, tuple(violations), h.operations, versions, True)


def _cycle(edges: dict[int, dict[int, Constraint]], nodes: set[int]) -> list[Constraint]:
    """One cycle inside the strongly connected ``nodes``, as its edges (shortest from the
    smallest node, by breadth-first search)."""
    start = min(nodes)
    parent: dict[int, Constraint] = {}
    frontier, seen = [start], {start}
    while frontier:
        nxt = []
        for u in frontier:
            for v, c in sorted(edges.get(u, {}).items()):
                if v == start:
                    path = [c]
                    while u != start:
                        path.append(parent[u])
                        u = parent[u].before  # type: ignore[assignment]
                    return path[::-1]
                if v in nodes and v not in seen:
                    seen.add(v)
                    parent[v] = c
                    nxt.append(v)
        frontier = nxt
    raise AssertionError("a strongly connected component without a cycle")


def _components(edges: dict[int, dict[int, Constraint]], nodes: list[int]) -> list[set[int]]:
    """Tarjan's strongly connected components (iterative), those with a cycle."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on: set[int] = set()
    out: list[set[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            u, it = work[-1]
            for v in it:
                if v not in index:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on.add(v)
                    work.append((v, iter(sorted(edges.get(v, {})))))
                    break
                if v in on:
                    low[u] = min(low[u], index[v])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[u])
                if low[u] == index[u]:
                    comp = set()
                    while True:
                        v = stack.pop()
                        on.discard(v)
                        comp.add(v)
                        if v == u:
                            break
                    if len(comp) > 1 or u in edges.get(u, {}):
                        out.append(comp)
    return out


def _check_inferred(h: Differentiated, wanted: tuple[str, ...]) -> Result:
    violations = _thin_air(h, wanted)
    edges: dict[int, dict[int, Constraint]] = {}
    for c in constraints(h, wanted):
        if c.before is INIT:
            continue                                  # the initial value precedes every write
        if c.after is INIT:                           # a write must precede the initial value
            violations.append(Violation((c.guarantee,), _witness(h, c), _explain_pair(h, c)))
            continue
        if c.before == c.after and not c.strict:
            continue
        edges.setdefault(c.before, {}).setdefault(c.after, c)
    writes = sorted(h.writes.values())
    for comp in _components(edges, writes):
        cycle = _cycle(edges, comp)
        ops = sorted({i for c in cycle for i in _witness(h, c)})
        named = tuple(g for g in GUARANTEES if any(c.guarantee == g for c in cycle))
        steps = "; ".join(f"{SHORT[c.guarantee]} needs {_name(h, c.before)} {'<' if c.strict else '<='} "
                          f"{_name(h, c.after)} ({h.describe(c.first)}, then {h.describe(c.then)})"
                          for c in cycle)
        key = h.key[cycle[0].first]
        violations.append(Violation(named, tuple(ops), f"no version order of {_where(key)} satisfies: {steps}"))
    violations.sort(key=lambda v: v.operations)
    if violations:
        return Result("illegal", wanted, tuple(violations), h.operations, {}, False)
    return Result("ok", wanted, (), h.operations, _topological(h, edges, writes), False)


def _topological(h: Differentiated, edges: dict[int, dict[int, Constraint]], writes: list[int]) -> dict:
    """A version order satisfying the edges (Kahn; ties by position in the history)."""
    indegree = dict.fromkeys(writes, 0)
    for u in edges:
        for v in edges[u]:
            indegree[v] += 1
    ready = sorted(w for w in writes if indegree[w] == 0)
    order: dict[Any, list[Any]] = {}
    while ready:
        u = ready.pop(0)
        order.setdefault(h.key[u], []).append(h.value[u])
        for v in sorted(edges.get(u, {})):
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
                ready.sort()
    return {k: tuple(v) for k, v in order.items()}


def check(history: Any, guarantees: str | Iterable[str] = GUARANTEES, *,
          order: Mapping[Any, Sequence[Any]] | None = None, init: Any = _DEFAULT) -> Result:
    """Does ``history`` satisfy ``guarantees`` (one name or several; all four by default)?

    ``history``: ``Operation`` records, a ``Recorder`` or a ``ds.replication`` cluster.
    ``order``: the store's version order, ``{key: values oldest first}`` (key ``None`` for a
    register); without it, the checker looks for one version order satisfying the
    guarantees together. See the module docstring for both, and for what a history must
    satisfy to be judged (unique written values per key)."""
    wanted = (guarantees,) if isinstance(guarantees, str) else tuple(guarantees)
    if not wanted:
        raise allowed("guarantees", wanted, f"one or more of {', '.join(GUARANTEES)}")
    for g in wanted:
        if g not in GUARANTEES:
            raise allowed("guarantee", g, f"one of {', '.join(GUARANTEES)}")
    wanted = tuple(g for g in GUARANTEES if g in wanted)
    h = differentiated(history, init)
    if order is None:
        return _check_inferred(h, wanted)
    if not isinstance(order, Mapping):
        raise allowed("order", order, "None or a mapping {key: values oldest first}")
    return _check_given(h, wanted, order)


def read_your_writes(history: Any, **kw: Any) -> Result:
    """:func:`check` of read your writes alone (Terry et al. 1994, "Read Your Writes")."""
    return check(history, RYW, **kw)


def monotonic_reads(history: Any, **kw: Any) -> Result:
    """:func:`check` of monotonic reads alone (Terry et al. 1994, "Monotonic Reads")."""
    return check(history, MR, **kw)


def writes_follow_reads(history: Any, **kw: Any) -> Result:
    """:func:`check` of writes follow reads alone (Terry et al. 1994, "Writes Follow Reads")."""
    return check(history, WFR, **kw)


def monotonic_writes(history: Any, **kw: Any) -> Result:
    """:func:`check` of monotonic writes alone (Terry et al. 1994, "Monotonic Writes")."""
    return check(history, MW, **kw)


def check_each(history: Any, **kw: Any) -> dict[str, Result]:
    """Each of the four guarantees checked on its own, by name."""
    return {g: check(history, g, **kw) for g in GUARANTEES}


__all__ = ["GUARANTEES", "INIT", "MR", "MW", "RYW", "WFR", "Constraint", "Differentiated", "Result",
           "Violation", "check", "check_each", "constraints", "differentiated", "monotonic_reads",
           "monotonic_writes", "read_your_writes", "writes_follow_reads"]

