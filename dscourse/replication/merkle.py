"""Merkle trees for anti-entropy (Merkle 1987; Dynamo, DeCandia et al. 2007, §4.7).

Keys are hashed into ``2**depth`` leaf buckets; a leaf's hash covers its entries
``(key, ts, value)``, an inner node's hash covers its two children. Two replicas compare
roots, then descend only into children whose hashes differ, and finally exchange the
entries of differing leaves: the traffic grows with the amount of divergence, not with
the size of the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import allowed


def _h(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def bucket(key: str, depth: int) -> int:
    """The leaf bucket of ``key`` in a tree of the given depth (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % (1 << depth)


EMPTY = _h(b"")


@dataclass(frozen=True)
class MerkleTree:
    """``levels[0]`` is ``(root,)``; ``levels[depth]`` holds the ``2**depth`` leaf hashes."""

    depth: int
    levels: tuple[tuple[str, ...], ...]

    @classmethod
    def build(cls, entries: Mapping[str, tuple], depth: int = 6) -> MerkleTree:
        """A tree over ``{key: (ts, value)}``."""
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= 16:
            raise allowed("depth", depth, "an int from 0 to 16")
        leaves: list[list[str]] = [[] for _ in range(1 << depth)]
        for key in sorted(entries):
            ts, value = entries[key]
            leaves[bucket(key, depth)].append(repr((key, tuple(ts), value)))
        level = tuple(_h("\n".join(b).encode()) if b else EMPTY for b in leaves)
        levels = [level]
        while len(level) > 1:
            level = tuple(_h((level[i] + level[i + 1]).encode()) for i in range(0, len(level), 2))
            levels.append(level)
        return cls(depth, tuple(reversed(levels)))

    @property
    def root(self) -> str:
        return self.levels[0][0]

    def hash(self, level: int, index: int) -> str:
        return self.levels[level][index]

    def differing(self, level: int, indices: tuple[int, ...], hashes: tuple[str, ...]) -> tuple[int, ...]:
        """Which of the given nodes at ``level`` hash differently here."""
        return tuple(i for i, h in zip(indices, hashes, strict=True) if self.levels[level][i] != h)


def children(indices: tuple[int, ...]) -> tuple[int, ...]:
    """The child indices, one level down, of the given nodes."""
    return tuple(c for i in indices for c in (2 * i, 2 * i + 1))


def compare_step(tree: MerkleTree, level: int, indices: tuple[int, ...],
                 hashes: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """One step of the descent, given a peer's ``hashes`` of the nodes ``indices`` at
    ``level``: ``("same", ())``, ``("hashes", children of the differing nodes)`` or, at the
    leaves, ``("entries", differing leaves)``."""
    differ = tree.differing(level, indices, hashes)
    if not differ:
        return "same", ()
    if level == tree.depth:
        return "entries", differ
    return "hashes", children(differ)
