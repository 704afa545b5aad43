"""Faults a reader (or a nemesis) injects: crash/recover, pause, partitions, cuts, clock jumps.

Mixed into :class:`~dscourse.sim.kernel.Simulation`. The failure model follows Jepsen's
nemeses (partitions as sets of reachable ordered pairs, process pauses like a GC or
``SIGSTOP``, clock jumps) and labrpc's crash model (a crashed server loses everything but its
persister, here ``Node.stable``).

A message crosses the network only if its link is open both when it is sent and when it
arrives: a partition installed while a message is in flight drops it on arrival.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import allowed
from .dist import Dist, as_dist
from .errors import NodeStateError
from .nemesis import RANDOM_KINDS, Nemesis, random_schedule
from .node import rebuild, wipe
from .queue import (
    CALL,
    CRASHED,
    DEAD,
    DELIVER,
    ID,
    KIND,
    LABEL,
    P_NEMESIS,
    P_RESUME,
    PAUSED,
    PEER,
    PRIORITY,
    RESUME,
    SEQ,
    TIME,
    to_us,
)

if TYPE_CHECKING:
    from .kernel import Simulation


class Faults:
    """Fault injection methods of :class:`~dscourse.sim.kernel.Simulation`."""

    def crash(self: Simulation, node_id: str) -> None:
        """Crash a node: cancel its timers, drop what arrives while down, lose all but ``stable``."""
        node = self._node(node_id)
        self._check_up(node_id, "crash again")
        if self._impaired.get(node_id) == PAUSED:
            self._resume_at.pop(node_id)[KIND] = DEAD
            for e in self._backlog.pop(node_id):
                if e[KIND] == DELIVER:
                    self._rec((self._now, "drop", e[PEER], node_id, e[ID], e[LABEL],
                               {"reason": "crashed"}))
        timers = self._timers[node_id]
        for entry in timers.values():
            entry[KIND] = DEAD
        self._impaired[node_id] = CRASHED
        self._rec((self._now, "crash", node_id, None, None, None,
                   {"timers_cancelled": len(timers)}))
        timers.clear()
        node.on_crash()
        wipe(node)

    def recover(self: Simulation, node_id: str) -> None:
        """Recover a crashed node: rebuild it from ``__init__`` with the same ``stable``, then ``on_recover()``."""
        node = self._node(node_id)
        if self._impaired.get(node_id) != CRASHED:
            raise NodeStateError(f"node {node_id!r} is {self.status(node_id)}: expected a crashed "
                                 "node to recover")
        del self._impaired[node_id]
        self._rec((self._now, "recover", node_id, None, None, None, None))
        rebuild(node)
        node.on_recover()

    def pause(self: Simulation, node_id: str, ms: float) -> None:
        """Stop the world on a node for ``ms``: it handles nothing, then sees everything late, in order."""
        self._node(node_id)
        self._check_up(node_id, "be paused")
        end = self._now + to_us("pause ms", ms)
        old = self._resume_at.pop(node_id, None)
        if old is not None:
            end = max(end, old[TIME])
            old[KIND] = DEAD
        else:
            self._backlog[node_id] = []
        self._impaired[node_id] = PAUSED
        self._resume_at[node_id] = self._push(end, P_RESUME, RESUME, node=node_id)
        self._rec((self._now, "pause", node_id, None, None, None, ms))

    def _resume(self: Simulation, node_id: str) -> None:
        del self._impaired[node_id]
        del self._resume_at[node_id]
        backlog = self._backlog.pop(node_id)
        self._rec((self._now, "resume", node_id, None, None, None, {"backlog": len(backlog)}))
        for e in backlog:  # re-queued ahead of everything else due now, in their original order
            e[TIME], e[PRIORITY], e[SEQ] = self._now, P_RESUME, self._next_seq()
            heapq.heappush(self._heap, e)

    def partition(self: Simulation, *groups: Any) -> None:
        """Split the nodes into groups that cannot talk to each other.

        Nodes named in no group form one more group together. Replaces any earlier
        partition; one-way ``cut`` links stay until ``heal()``.
        """
        if not groups:
            raise allowed("partition groups", groups, "at least one group of node ids")
        seen: dict[str, int] = {}
        for i, group in enumerate(groups):
            if isinstance(group, str) or not hasattr(group, "__iter__"):
                raise allowed("partition group", group, 'a list of node ids, e.g. ["a", "b"]')
            for node_id in group:
                self._node(node_id)
                if node_id in seen:
                    raise allowed("partition groups", [list(g) for g in groups],
                                  f"disjoint groups ({node_id!r} is in two)")
                seen[node_id] = i
        rest = [n for n in self._order if n not in seen]
        all_groups = [list(g) for g in groups] + ([rest] if rest else [])
        for n in rest:
            seen[n] = len(groups)
        self._partition_pairs = {(a, b) for a in seen for b in seen if seen[a] != seen[b]}
        self._refresh_blocked()
        self._rec((self._now, "partition", None, None, None, None, all_groups))

    def cut(self: Simulation, src: str, dst: str) -> None:
        """Cut the directed link ``src -> dst`` (messages from ``src`` to ``dst`` are lost)."""
        self._node(src)
        self._node(dst)
        self._cuts.add((src, dst))
        self._refresh_blocked()
        self._rec((self._now, "cut", src, dst, None, None, None))

    def heal(self: Simulation) -> None:
        """Remove every partition and cut."""
        self._partition_pairs = set()
        self._cuts.clear()
        self._refresh_blocked()
        self._rec((self._now, "heal", None, None, None, None, None))

    def _refresh_blocked(self: Simulation) -> None:
        blocked = self._blocked  # mutated in place: the event loop holds a reference
        blocked.clear()
        blocked.update(self._partition_pairs)
        blocked.update(self._cuts)

    def clock_jump(self: Simulation, node_id: str, delta_ms: float) -> None:
        """Jump a node's local clock (``Node.clock()``) by ``delta_ms`` (may be negative)."""
        self._node(node_id)
        delta = to_us("delta_ms", delta_ms, negative=True)
        if self._physical and node_id in self._physical:   # drifting or synchronised (sim/clock.py)
            self._physical[node_id].jump(self._now, delta)
        else:
            self._clock_offset[node_id] += delta
        self._rec((self._now, "clock_jump", node_id, None, None, None, delta_ms))

    def slow_link(self: Simulation, a: str, b: str, latency: Dist | float) -> None:
        """Give both directions between ``a`` and ``b`` the latency ``latency``."""
        dist = as_dist(latency)
        self.set_link(a, b, latency=dist)
        self.set_link(b, a, latency=dist)

    def schedule_nemesis(self: Simulation, schedule: Any) -> None:
        """Queue a nemesis schedule: ``[(time_ms, ("crash", "c")), (time_ms, ("heal",)), ...]``.

        Times are absolute virtual ms (not before ``now``). The whole schedule is checked
        before anything is queued; see :mod:`dscourse.sim.nemesis` for the actions.
        """
        nemesis = schedule if isinstance(schedule, Nemesis) else Nemesis(schedule)
        nemesis.check(self)
        for time_us, name, args in nemesis.actions:  # ``name`` is a method of the simulation
            self._push(time_us, P_NEMESIS, CALL, label=name, msg=args)

    def random_nemesis(self: Simulation, until: float, *,
                       kinds: Sequence[str] = RANDOM_KINDS, mean_gap: float = 200.0,
                       mean_duration: float = 300.0, max_clock_jump: float = 100.0,
                       max_drift_ppm: float = 100_000.0) -> list[tuple[float, tuple[Any, ...]]]:
        """A random schedule from now to ``until`` ms, drawn from the stream ``"nemesis"``.

        See :func:`dscourse.sim.nemesis.random_schedule`; pass the result to
        :meth:`schedule_nemesis` (after showing or editing it, if you like).
        """
        return random_schedule(list(self._order), self.rng("nemesis"), start=self.now,
                               until=until, kinds=kinds, mean_gap=mean_gap,
                               mean_duration=mean_duration, max_clock_jump=max_clock_jump,
                               max_drift_ppm=max_drift_ppm)
