"""Canonical keys for the compact search: plain (:class:`Plain`) or up to symmetry
(:class:`Symmetric`, ``explore(..., symmetry=[("a1", "a2", "a3")])``).

Symmetry reduction (Ip & Dill, "Better Verification Through Symmetry", FMSD 9, 1996, §3;
Clarke, Emerson, Jha & Sistla, CAV 1993): when some nodes are interchangeable -- the same
class, the same code, nothing but their ids telling them apart -- a state and the state
with those ids permuted behave alike, so the search keeps one state per *orbit*. A state's
key is the least hash of its renamed keys over every permutation of each group (the orbit's
members give the same set of hashes, so the same least one).

Sound only if renaming the ids maps runs to runs and leaves the checked properties alone:
the grouped nodes run the same class, use no randomness (their streams are named after
their ids; the search stops with an error if one draws), are all restartable or none (both
checked), and every string equal to a
grouped id in node states and messages *is* that id. The reduced search visits fewer
states (reported as such, never compared with the unreduced counts); a counterexample it
finds is a real run, shortest among the orbits it reaches.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from itertools import permutations, product
from typing import Any

from ..errors import allowed
from ..sim import Simulation

_MASK = (1 << 64) - 1


def mix(h: int) -> int:
    """A hash passed through splitmix64's finalizer (Steele, Lea & Flood, "Fast Splittable
    Pseudorandom Number Generators", OOPSLA 2014): a bijection of 64-bit values whose every
    output bit depends on every input bit, so sums of mixed hashes of related keys behave as
    sums of random values."""
    z = h & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class Plain:
    """The unreduced key: a node's key hash, each pending entry's (mixed: :func:`mix`), the
    pending multiset as the sum of its members, and their combination."""

    def node(self, nid: str, status: str, state: Any) -> Any:
        return hash((nid, status, state))

    def entry(self, key: tuple[Any, ...]) -> Any:
        return mix(hash(key))

    def multiset(self, members: list[Any]) -> Any:
        """The pending multiset of these members (entry hashes), as :meth:`combine` takes it."""
        return sum(members)

    def less(self, multiset: Any, member: Any) -> Any:
        """``multiset`` less one copy of ``member``."""
        return multiset - member

    def more(self, multiset: Any, members: tuple[Any, ...]) -> Any:
        """``multiset`` plus ``members``."""
        return multiset + sum(members)

    def combine(self, nodes: tuple[Any, ...], multiset: Any, spent: tuple[int, int, int]) -> int:
        return hash((nodes, multiset, spent))


def expand(x: Any) -> Any:
    """A frozen value (``explore.freeze``) with dataclasses, named tuples and enums opened
    into tuples, so that :func:`rename` reaches every string inside."""
    t = type(x)
    if t is str or t is int or t is bool or x is None or t is float or t is bytes:
        return x
    if t is tuple:
        return tuple(expand(v) for v in x)
    if t is frozenset:
        return frozenset(expand(v) for v in x)
    if isinstance(x, enum.Enum):
        return (t.__name__, x.name)
    if is_dataclass(x) and not isinstance(x, type):
        return (t.__name__, tuple(expand(getattr(x, f.name)) for f in fields(x)))
    if isinstance(x, tuple):
        return (t.__name__, tuple(expand(v) for v in x))
    return x


def rename(x: Any, to: dict[str, str]) -> Any:
    """``x`` (expanded) with every string that is a key of ``to`` replaced by its value."""
    t = type(x)
    if t is str:
        return to.get(x, x)
    if t is tuple:
        return tuple(rename(v, to) for v in x)
    if t is frozenset:
        return frozenset(rename(v, to) for v in x)
    return x


class Symmetric(Plain):
    """Keys up to permutations of each group of interchangeable nodes (module docstring)."""

    def __init__(self, groups: Sequence[Sequence[str]], order: Sequence[str]) -> None:
        per_group = [[dict(zip(g, p, strict=True)) for p in permutations(g)] for g in groups]
        self.perms: list[dict[str, str]] = []
        for combo in product(*per_group):
            perm: dict[str, str] = {}
            for part in combo:
                perm.update(part)
            self.perms.append(perm)
        order = tuple(order)
        # per permutation: the index of the node renamed to each id of ``order``, in order
        self.sources = []
        for perm in self.perms:
            renamed_from = {perm.get(n, n): i for i, n in enumerate(order)}
            self.sources.append(tuple(renamed_from[target] for target in order))
        self._nodes: dict[Any, tuple[int, ...]] = {}     # node keys seen -> their hashes
        self._entries: dict[Any, tuple[int, ...]] = {}   # pending keys seen -> their hashes

    def node(self, nid: str, status: str, state: Any) -> Any:
        key = (nid, status, state)
        out = self._nodes.get(key)
        if out is None:
            state = expand(state)
            out = self._nodes[key] = tuple(hash((perm.get(nid, nid), status, rename(state, perm)))
                                           for perm in self.perms)
        return out

    def entry(self, key: tuple[Any, ...]) -> Any:
        out = self._entries.get(key)
        if out is None:
            kind, node, peer, label, msg = key
            msg = expand(msg)
            out = self._entries[key] = tuple(
                hash((kind, perm.get(node, node), perm.get(peer, peer), label, rename(msg, perm)))
                for perm in self.perms)
        return out

    def multiset(self, members: list[Any]) -> Any:
        return members

    def less(self, multiset: Any, member: Any) -> Any:
        out = multiset.copy()
        out.remove(member)
        return out

    def more(self, multiset: Any, members: tuple[Any, ...]) -> Any:
        return [*multiset, *members]

    def combine(self, nodes: tuple[Any, ...], members: list[Any], spent: tuple[int, int, int]) -> int:
        best = None
        for p, source in enumerate(self.sources):
            h = hash((tuple(nodes[i][p] for i in source), tuple(sorted(m[p] for m in members)), spent))
            if best is None or h < best:
                best = h
        assert best is not None
        return best


def keying(symmetry: Iterable[Iterable[str]] | None, sim: Simulation,
           restartable: Iterable[str] = ()) -> Plain:
    """The key for ``explore(symmetry=...)``: checks the groups against ``sim`` and the
    restartable nodes (a group is restartable whole or not at all, or the permuted system
    would not be the same system)."""
    if symmetry is None:
        return Plain()
    try:
        groups = [tuple(g) for g in symmetry]
    except TypeError:
        raise allowed("symmetry", symmetry, "a list of groups of interchangeable node ids, "
                      "e.g. [('a1', 'a2', 'a3')]") from None
    seen: set[str] = set()
    for g in groups:
        if len(g) < 2 or any(not isinstance(n, str) for n in g):
            raise allowed("symmetry group", g, "two or more node ids")
        for n in g:
            if n not in sim.nodes:
                raise allowed("symmetry node", n, f"one of {', '.join(sim.nodes)}")
            if n in seen:
                raise allowed("symmetry node", n, "a node in one group only")
            seen.add(n)
        restarting = set(restartable) & set(g)
        if restarting and restarting != set(g):
            raise allowed("symmetry group", g, "nodes all restartable or none (restartable: "
                          f"{', '.join(sorted(restarting))})")
        classes = {type(sim.nodes[n]) for n in g}
        if len(classes) > 1:
            raise allowed("symmetry group", g, "nodes of one class (these run "
                          f"{', '.join(sorted(c.__name__ for c in classes))})")
    return Symmetric(groups, tuple(sim.nodes))
