"""Maelstrom's broadcast topologies (``--topology``): grid, line, total, tree2, tree3, tree4.

``grid`` lays the nodes out row by row in a square of side ``ceil(sqrt(n))`` and links each to
its neighbours up, down, left and right, as Maelstrom's ``grid-topology`` does; ``treeK`` is
the complete ``K``-ary tree in node order.
"""

from __future__ import annotations

import math

from ..errors import allowed

TOPOLOGIES = ("grid", "line", "total", "tree2", "tree3", "tree4")


def topology(names: list[str], kind: str = "grid") -> dict[str, list[str]]:
    """The neighbour lists of ``names`` in topology ``kind`` (symmetric, no self-links)."""
    if kind not in TOPOLOGIES:
        raise allowed("topology", kind, f"one of {', '.join(TOPOLOGIES)}")
    n = len(names)
    edges: set[tuple[int, int]] = set()
    if kind == "grid":
        side = max(1, math.ceil(math.sqrt(n)))
        for i in range(n):
            if (i + 1) % side and i + 1 < n:
                edges.add((i, i + 1))
            if i + side < n:
                edges.add((i, i + side))
    elif kind == "line":
        edges = {(i, i + 1) for i in range(n - 1)}
    elif kind == "total":
        edges = {(i, j) for i in range(n) for j in range(i + 1, n)}
    else:
        k = int(kind[-1])
        edges = {((i - 1) // k, i) for i in range(1, n)}
    out: dict[str, list[str]] = {name: [] for name in names}
    for a, b in sorted(edges):
        out[names[a]].append(names[b])
        out[names[b]].append(names[a])
    return {name: sorted(nbrs, key=names.index) for name, nbrs in out.items()}
