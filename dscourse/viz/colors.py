"""Colours shared by every picture: one stable colour per message label, one per role.

A label's colour is chosen by a hash of its name (BLAKE2b, so it is the same in every
process and notebook), with linear probing inside one figure so that two labels drawn
together never share a colour while the palette lasts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

# Tableau 10 without red (red is reserved for crashes and drops) and without grey (pauses).
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939",
)
CRASH = "#d62728"
PAUSE = "#7f7f7f"
PARTITION = "#f2c14e"
CUT = "#c9a0dc"

ROLE_COLORS: dict[str | None, str] = {
    None: "#e8e8e8",
    "leader": "#2ca02c",
    "primary": "#2ca02c",
    "follower": "#9ecae1",
    "backup": "#9ecae1",
    "replica": "#9ecae1",
    "candidate": "#fdae6b",
    "observer": "#c7c7c7",
    "learner": "#c7c7c7",
    "client": "#ffffff",
}


def _slot(name: str, size: int) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=4).digest(), "big") % size


def label_color(label: str) -> str:
    """The preferred colour of a message label (stable across processes)."""
    return PALETTE[_slot(label, len(PALETTE))]


def label_colors(labels: Iterable[str]) -> dict[str, str]:
    """Colours for the labels of one figure: preferred colours, probing past collisions.

    Labels are assigned in sorted order, so the result depends only on the set of labels.
    """
    taken: dict[int, str] = {}
    out: dict[str, str] = {}
    for label in sorted(set(labels)):
        slot = _slot(label, len(PALETTE))
        if len(taken) < len(PALETTE):
            while slot in taken:
                slot = (slot + 1) % len(PALETTE)
        taken[slot] = label
        out[label] = PALETTE[slot]
    return out


def role_color(role: str | None) -> str:
    """Fill colour of a node with this role (unknown roles get a stable palette colour)."""
    if role in ROLE_COLORS:
        return ROLE_COLORS[role]
    return PALETTE[_slot(f"role:{role}", len(PALETTE))]
