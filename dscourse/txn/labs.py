"""Chapter 14's live widget: two-phase commit in a :class:`~dscourse.viz.Player` with crash
and recover buttons (loaded lazily: only this module imports ``ds.viz``)."""

from __future__ import annotations

from typing import Any

from ..viz import Player
from .modelcheck import simulation


def two_pc_player(seed: int | None = None, *, participants: int = 2, timeout_ms: float = 100.0) -> Player:
    """A 2PC transfer (coordinator ``c``, participants ``p1``...) on in-memory resource
    managers, with buttons that crash and recover ``c`` and ``p1``. Crash ``c`` once the
    participants have voted and they stay prepared (in doubt, asking every ``timeout_ms``)
    until it recovers and re-sends its logged decision: 2PC's blocking, step by step."""

    def make(s: int) -> Any:
        return simulation(s, participants=participants, inquiries=None, timeout_ms=timeout_ms)

    player = Player(make, seed=seed)
    for node in ("c", "p1"):
        player.add_action(f"crash {node}", lambda sim, n=node: sim.crash(n))
        player.add_action(f"recover {node}", lambda sim, n=node: sim.recover(n))
    return player


__all__ = ["two_pc_player"]
