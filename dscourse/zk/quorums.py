"""ZooKeeper's quorum systems: majorities, weights and hierarchies (``QuorumVerifier``).

* **Majority** (``QuorumMaj``): a set of voters is a quorum when it holds more than half of
  them, so ``n`` voters survive ``(n - 1) // 2`` failures: 2f + 1 servers tolerate f, and a
  2f + 2nd server adds nothing (Administrator's Guide, "Clustered (Multi-Server) Setup").
* **Hierarchical, with weights** (``QuorumHierarchical``; Administrator's Guide,
  ``group.x`` / ``weight.x``, and "Introduction to hierarchical quorums"): servers are split
  into disjoint groups and each has a weight (default 1). A group agrees when the set holds
  more than half of the group's total weight; the set is a quorum when a majority of the
  groups with non-zero weight agree. Zero-weight groups (and zero-weight servers) never count.
  A flat weighted system is the one-group case: more than half of the total weight.

Every two quorums of one system intersect, which is what ZAB's safety rests on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def tolerated_failures(n: int) -> int:
    """How many of ``n`` voters can fail with a majority still up."""
    return (n - 1) // 2 if n > 0 else 0


def weighted_quorum(weights: Mapping[str, int], members: Iterable[str]) -> bool:
    """More than half of the total weight (``QuorumHierarchical`` with one group)."""
    total = sum(weights.values())
    have = sum(weights[s] for s in set(members) if s in weights)
    return 2 * have > total


def hierarchical_quorum(groups: Sequence[Sequence[str]], weights: Mapping[str, int],
                        members: Iterable[str]) -> bool:
    """``QuorumHierarchical.containsQuorum``: a majority of the non-zero-weight groups each
    have more than half of their weight in ``members``."""
    chosen = set(members)
    live = agree = 0
    for group in groups:
        total = sum(weights.get(s, 1) for s in group)
        if total == 0:
            continue
        live += 1
        if 2 * sum(weights.get(s, 1) for s in group if s in chosen) > total:
            agree += 1
    return 2 * agree > live


__all__ = ["hierarchical_quorum", "tolerated_failures", "weighted_quorum"]
