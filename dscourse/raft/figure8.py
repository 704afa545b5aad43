"""The Figure 8 scenario of the Raft paper (§5.4.2) as a deterministic, scripted replay.

Five servers, forced elections (``timeout_now``), crashes and partitions drive the cluster
through the figure's panels (a)-(d) (terms 2-5, as in the paper). With the correct rule a
leader never commits the term-2 entry by counting, so its later overwrite is harmless; with
:class:`~dscourse.raft.mutants.CountingOldTermsRaft` it is committed in (c) and overwritten
in (d), and the monitors report Leader Completeness and State Machine Safety violations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..sim import Constant, reliable, stream
from .builder import RaftCluster
from .node import RaftNode
from .observer import Observer
from .options import RaftOptions

# Long election timeouts: only the script starts elections.
REPLAY_OPTIONS = RaftOptions(election_timeout=(60_000.0, 60_000.0), heartbeat=50.0, noop=False)


@dataclass(frozen=True)
class Panel:
    """The cluster after one step: each server's log, role, commit index and liveness."""

    label: str
    caption: str
    time: float
    logs: dict[str, tuple[tuple[int, Any], ...]]
    roles: dict[str, str]
    terms: dict[str, int]
    commits: dict[str, int]
    up: dict[str, bool]


@dataclass
class Figure8:
    """The replay's cluster, its panels, and what the monitors found."""

    cluster: RaftCluster
    panels: list[Panel]

    @property
    def violations(self) -> list[Any]:
        return self.cluster.violations


def _panel(c: RaftCluster, label: str, caption: str) -> Panel:
    logs, roles, terms, commits, up = {}, {}, {}, {}, {}
    for sid, node in c.nodes.items():
        alive = c.up(sid)
        up[sid] = alive
        logs[sid] = tuple(node.stable["log"])
        terms[sid] = node.stable["term"]
        roles[sid] = node.role if alive else "crashed"
        commits[sid] = node.commit_index if alive else 0
    return Panel(label, caption, c.now, logs, roles, terms, commits, up)


def figure8(node_class: type[RaftNode] = RaftNode, seed: int = 8,
            observer: Observer | None = None, **node_kwargs: Any) -> Figure8:
    """Run the scripted Figure 8 scenario with ``node_class`` servers s1..s5 (built with
    ``node_kwargs``); ``observer`` watches beside the monitor."""
    c = RaftCluster(5, seed, network=reliable(Constant(1.0)), options=REPLAY_OPTIONS,
                    node_class=node_class, observer=observer, **node_kwargs)
    panels: list[Panel] = []

    def elect(sid: str, attempts: int = 3) -> None:
        for _ in range(attempts):
            c.timeout(sid)
            c.run(5)
            if c.nodes[sid].role == "leader":
                return
        raise AssertionError(f"the script could not elect {sid}")

    elect("s2")                              # term 1: s2 leads and replicates index 1
    c.submit("x")
    c.run(10)
    elect("s1")                              # term 2: s1 leads
    c.partition(["s1", "s2"], ["s3", "s4", "s5"])
    c.submit("y")                            # index 2, term 2, reaches s2 only
    c.run(10)
    panels.append(_panel(c, "a", "S1 leads term 2; its entry 2 reaches only S2"))
    c.crash("s1")
    elect("s5")                              # term 3 with votes of s3, s4
    c.submit("z")                            # index 2, term 3, on s5 only
    c.crash("s5")                            # before any AppendEntries leaves
    panels.append(_panel(c, "b", "S1 crashes; S5 wins term 3 (S3, S4, S5), appends "
                                 "entry 2 and crashes"))
    c.recover("s1")
    c.partition(["s1", "s2", "s3"], ["s4", "s5"])
    elect("s1")                              # term 4 (after a refused try in term 3)
    c.run(10)                                # s1 copies its term-2 entry to s3
    panels.append(_panel(c, "c", "S1 restarts, wins term 4 and copies its term-2 entry to "
                                 "S3: stored on a majority"))
    c.crash("s1")
    c.recover("s5")
    c.partition(["s2", "s3", "s4", "s5"], ["s1"])
    elect("s5")                              # term 5: its last term 3 beats s2's and s3's 2
    c.submit("w")                            # a term-5 entry lets s5 commit its log
    c.run(10)
    panels.append(_panel(c, "d", "S1 crashes; S5 wins term 5 and overwrites entry 2 "
                                 "everywhere"))
    return Figure8(c, panels)


def figure8_adversary(node_class: type[RaftNode] = RaftNode, seed: int = 0, rounds: int = 40,
                      observer: Observer | None = None) -> RaftCluster:
    """A randomized search for Figure 8 hazards, in the style of the scripted replay.

    Each round recovers some crashed servers, isolates a random majority, forces a random
    member of it to win an election, lets it replicate to a random part of that majority,
    maybe submits a command, and usually crashes it. The correct Raft is never caught;
    :class:`~dscourse.raft.mutants.CountingOldTermsRaft` is, on about one seed in twenty.
    Returns the cluster (its ``violations`` say what the monitor saw).
    """
    c = RaftCluster(5, seed, network=reliable(Constant(1.0)), options=REPLAY_OPTIONS,
                    node_class=node_class, observer=observer)
    rng: np.random.Generator = stream(seed, "figure8 adversary")
    for r in range(rounds):
        for sid in c.ids:
            if not c.up(sid) and rng.random() < 0.5:
                c.recover(sid)
        up = [sid for sid in c.ids if c.up(sid)]
        if len(up) < 3:
            continue
        order = [up[i] for i in rng.permutation(len(up))]
        group = order[:int(rng.integers(3, len(up) + 1))]
        cand = group[int(rng.integers(len(group)))]
        c.partition(group)
        for _ in range(3):
            c.timeout(cand)
            c.run(5)
            if c.nodes[cand].role == "leader":
                break
        else:
            continue
        others = [sid for sid in group if sid != cand]
        c.partition([cand, *others[:int(rng.integers(0, len(others) + 1))]])
        if rng.random() < 0.7:
            c.submit(f"r{r}", cand)
        c.run(float(rng.integers(0, 4)))
        if rng.random() < 0.8:
            c.crash(cand)
        c.heal()
    return c
