"""Causal consistency of a read/write history, by the bad patterns of Bouajjani et al.

For a *differentiated* history (every written value unique per key, so each read names the
write it read; see :func:`.session.differentiated`), Bouajjani, Enea, Guerraoui and Hamza
(POPL 2017, "On Verifying Causal Consistency") take the causal order ``CO`` to be the
transitive closure of program order (each session's own order) and reads-from (a write
before every read of its value), and show that checking becomes polynomial: a history is

* **causally consistent** (CC, each read explained by the writes in its causal past) iff it
  has none of the bad patterns
  ``ThinAirRead`` (a read of a value no write wrote), ``CyclicCO`` (``CO`` has a cycle: an
  operation in its own causal past), ``WriteCOInitRead`` (a read returns the initial value
  although a write to that key is in its causal past) and ``WriteCORead`` (a read returns
  ``w``'s value although another write ``w'`` to the key lies causally between them:
  ``w`` CO ``w'`` CO the read);
* **causal memory** (CM; Ahamad et al., Distributed Computing 1995: each session sees one
  order of all writes that respects ``CO``) iff, in addition, for every session ``p`` the
  relation ``HB_p`` is acyclic (``CyclicHB``) and orders no write of a key before a read of
  the initial value (``WriteHBInitRead``). ``HB_p`` is the least transitive relation that
  contains ``CO`` and, for every read ``r`` of ``p`` that read from ``w``, orders before
  ``w`` every other write to the key that is ``HB_p``-before ``r`` (that write was
  overwritten in ``p``'s view).

* **causal convergence** (CCv: one arbitration order of all writes, extending ``CO``, that
  every read follows among the writes in its causal past) iff it has none of the CC patterns
  and ``CO`` together with the conflict relation ``CF`` is acyclic (``CyclicCF``): ``w1 CF
  w2`` when a read of ``w2`` has ``w1``, another write to the key, in its causal past.

CC lets a session see two concurrent writes in different orders on different reads; CM does
not; CCv makes every session agree on the order of conflicting writes (last-writer-wins
stores aim at it). Sequential consistency (:mod:`.sequential`) implies CM and CCv, each of
which implies CC. CCv implies the four session guarantees with its arbitration as the
version order (:mod:`.session`); CC and CM do not (two sessions may order the same two writes
differently, which one version order cannot explain), nor do the guarantees imply CC (a
chain of reads-from through other sessions is invisible to each session alone). Each
violation names the pattern and its operations, with the chain of program-order and
reads-from steps that makes one causally precede another.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed
from .models import Operation
from .session import _DEFAULT, INIT, Differentiated, Verdict, differentiated

MODELS = ("CC", "CM", "CCv")
PATTERNS = ("ThinAirRead", "CyclicCO", "WriteCOInitRead", "WriteCORead", "WriteHBInitRead", "CyclicHB", "CyclicCF")


@dataclass(frozen=True)
class BadPattern:
    """One occurrence of a bad pattern: its name, its operations (indices into the checked
    operations) and an explanation naming them."""

    pattern: str
    operations: tuple[int, ...]
    explanation: str


@dataclass(frozen=True)
class Result(Verdict):
    """``outcome`` is ``"ok"`` or ``"illegal"`` for ``model`` (``"CC"``, ``"CM"`` or ``"CCv"``)."""

    outcome: str
    model: str
    violations: tuple[BadPattern, ...]
    operations: tuple[Operation, ...] = field(repr=False)

    def explain(self, limit: int = 3) -> str:
        if self.ok:
            return f"{self.model}: holds ({len(self.operations)} operations)"
        lines = [f"{self.model}: violated ({len(self.violations)} bad pattern"
                 f"{'s' * (len(self.violations) != 1)})"]
        lines += [f"  - {v.pattern}: {v.explanation}" for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines)


class _Graph:
    """Program order and reads-from as edges, with the label of each."""

    def __init__(self, h: Differentiated) -> None:
        self.h = h
        self.succ: dict[int, dict[int, str]] = {i: {} for i in range(len(h.operations))}
        for mine in h.sessions.values():
            for a, b in itertools.pairwise(mine):
                self.succ[a][b] = "then"
        for r, w in h.source.items():
            if w is not INIT and w >= 0 and r not in self.succ[w]:
                self.succ[w][r] = "read by"

    def path(self, a: int, b: int, extra: dict[int, dict[int, str]] | None = None) -> list[int]:
        """The shortest chain of edges from ``a`` to ``b`` (breadth first)."""
        parent = {a: a}
        frontier = [a]
        while frontier and b not in parent:
            nxt = []
            for u in frontier:
                for v in sorted({**self.succ[u], **(extra or {}).get(u, {})}):
                    if v not in parent:
                        parent[v] = u
                        nxt.append(v)
            frontier = nxt
        chain = [b]
        while chain[-1] != a:
            chain.append(parent[chain[-1]])
        return chain[::-1]

    def render(self, chain: list[int], extra: dict[int, dict[int, str]] | None = None) -> str:
        h = self.h
        out = h.describe(chain[0])
        for u, v in itertools.pairwise(chain):
            label = self.succ[u].get(v) or (extra or {}).get(u, {}).get(v, "before")
            out += f" --{label}--> {h.describe(v)}"
        return out

    def order(self) -> list[int] | None:
        """A topological order, or None when the graph has a cycle."""
        indeg = dict.fromkeys(self.succ, 0)
        for u in self.succ:
            for v in self.succ[u]:
                indeg[v] += 1
        ready = sorted(u for u, d in indeg.items() if d == 0)
        out = []
        while ready:
            u = ready.pop()
            out.append(u)
            for v in self.succ[u]:
                indeg[v] -= 1
                if indeg[v] == 0:
                    ready.append(v)
        return out if len(out) == len(self.succ) else None

    def cycle(self) -> list[int]:
        """Operations on one cycle (first and last the same)."""
        for start in sorted(self.succ):
            for v in sorted(self.succ[start]):
                try:
                    back = self.path(v, start)
                except KeyError:
                    continue
                return [start, *back]
        raise AssertionError("no cycle")


def _past(g: _Graph, topo: list[int]) -> dict[int, int]:
    """For each operation, the bitset of operations causally before it (CO)."""
    preds: dict[int, list[int]] = {u: [] for u in g.succ}
    for u in g.succ:
        for v in g.succ[u]:
            preds[v].append(u)
    past: dict[int, int] = {}
    for v in topo:
        bits = 0
        for u in preds[v]:
            bits |= past[u] | 1 << u
        past[v] = bits
    return past


def _cc_patterns(g: _Graph, past: dict[int, int]) -> list[BadPattern]:
    h = g.h
    out = []
    for r, w in sorted(h.source.items()):
        if w == -1:
            continue
        key = h.key[r]
        rivals = [x for x in sorted(h.writes.values()) if h.key[x] == key and x != w and past[r] >> x & 1]
        if w is INIT:
            for x in rivals[:1]:
                out.append(BadPattern("WriteCOInitRead", (x, r), f"{g.render(g.path(x, r))}: the read "
                                      "returns the initial value although that write is in its causal past"))
            continue
        for x in rivals:
            if past[x] >> w & 1:
                out.append(BadPattern("WriteCORead", (w, x, r),
                                      f"{g.render(g.path(w, x) + g.path(x, r)[1:])}: the read "
                                      f"returns {h.value[w]!r}, which {h.value[x]!r} overwrote in its causal past"))
                break
    return out


def _hb(g: _Graph, session: tuple[int, ...], past: dict[int, int]) -> tuple[dict[int, int], dict[int, dict[int, str]]]:
    """``HB_p`` for the session ``session`` as "before" bitsets, and the edges it adds."""
    h = g.h
    n = len(h.operations)
    before = dict(past)
    added: dict[int, dict[int, str]] = {}
    reads = [r for r in session if not h.is_write[r] and h.source[r] not in (INIT, -1)]
    changed = True
    while changed:
        changed = False
        for r in reads:
            w = h.source[r]
            assert w is not None
            for x in h.writes.values():
                if x != w and h.key[x] == h.key[r] and before[r] >> x & 1 and not before[w] >> x & 1:
                    added.setdefault(x, {})[w] = f"overwritten in {h.operations[r].client}'s view by"
                    # x before w: everything before x (and x) is before w and all that follows w
                    gain = before[x] | 1 << x
                    for v in range(n):
                        if v == w or before[v] >> w & 1:
                            if gain & ~before[v]:
                                before[v] |= gain
                    changed = True
    return before, added


def _cm_patterns(g: _Graph, past: dict[int, int]) -> list[BadPattern]:
    h = g.h
    out: list[BadPattern] = []
    for client, session in sorted(g.h.sessions.items(), key=lambda kv: repr(kv[0])):
        before, added = _hb(g, session, past)
        cyclic = [v for v in sorted(before) if before[v] >> v & 1]
        if cyclic:
            v = cyclic[0]
            out.append(BadPattern("CyclicHB", tuple(sorted({v, *_members(before, v)})),
                                  f"{_who(client)} must see the writes in an order in which "
                                  f"{h.describe(v)} comes before itself: "
                                  f"{g.render(_hb_cycle(g, added, v), added)}"))
            continue
        for r in session:
            if not h.is_write[r] and h.source[r] is INIT:
                rivals = [x for x in sorted(h.writes.values()) if h.key[x] == h.key[r] and before[r] >> x & 1]
                if rivals:
                    x = rivals[0]
                    out.append(BadPattern("WriteHBInitRead", (x, r),
                                          f"{g.render(g.path(x, r, added), added)}: in {_who(client)}'s view the "
                                          "write comes before the read, which returns the initial value"))
    return out


def _ccv_patterns(g: _Graph, past: dict[int, int]) -> list[BadPattern]:
    """CyclicCF: ``w1`` conflicts with ``w2`` (same key) when a read of ``w2`` has ``w1`` in
    its causal past, so one arbitration order must put ``w1`` first; with ``CO`` they must not
    form a cycle."""
    h = g.h
    cf: dict[int, dict[int, str]] = {}
    for r, w in h.source.items():
        if w is INIT or w == -1:
            continue
        for x in h.writes.values():
            if x != w and h.key[x] == h.key[r] and past[r] >> x & 1:
                cf.setdefault(x, {})[w] = f"overwritten (as {h.operations[r].client} read) by"
    both = _Graph(h)
    for u, vs in cf.items():
        for v, label in vs.items():
            both.succ[u].setdefault(v, label)
    if both.order() is not None:
        return []
    chain = both.cycle()
    return [BadPattern("CyclicCF", tuple(sorted(set(chain))),
                       f"{both.render(chain)}: no single order of the writes (arbitration) agrees with "
                       "what the sessions read")]


def _who(client: Hashable) -> str:
    return f"session {client!r}"


def _members(before: dict[int, int], v: int) -> list[int]:
    """Operations on a cycle through ``v`` (those before ``v`` that ``v`` is before)."""
    return [u for u in before if before[v] >> u & 1 and before[u] >> v & 1]


def _hb_cycle(g: _Graph, added: dict[int, dict[int, str]], v: int) -> list[int]:
    starts = sorted({**g.succ[v], **added.get(v, {})})
    for s in starts:
        try:
            return [v, *g.path(s, v, added)]
        except KeyError:
            continue
    return [v, v]


def check(history: Any, model: str = "CC", *, init: Any = _DEFAULT) -> Result:
    """Is ``history`` causally consistent (``model="CC"``), a causal memory (``"CM"``) or
    causally convergent (``"CCv"``)? See the module docstring. ``history``: ``Operation`` records, a ``Recorder`` or a
    ``ds.replication`` cluster, with unique written values per key (else a ``ValueError``)."""
    if model not in MODELS:
        raise allowed("model", model, " or ".join(map(repr, MODELS)))
    h = differentiated(history, init)
    g = _Graph(h)
    found = [BadPattern("ThinAirRead", (r,), f"{h.describe(r)}: no write to that key wrote {h.value[r]!r}")
             for r, w in sorted(h.source.items()) if w == -1]
    topo = g.order()
    if topo is None:
        chain = g.cycle()
        found.append(BadPattern("CyclicCO", tuple(sorted(set(chain))),
                                f"{g.render(chain)}: an operation in its own causal past"))
    else:
        past = _past(g, topo)
        found += _cc_patterns(g, past)
        if model == "CM" and not found:
            found += _cm_patterns(g, past)
        if model == "CCv" and not found:
            found += _ccv_patterns(g, past)
    return Result("illegal" if found else "ok", model, tuple(found), h.operations)


__all__ = ["MODELS", "PATTERNS", "BadPattern", "Result", "check"]
