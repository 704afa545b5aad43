"""``ds.raft.cluster(n=5, seed=1)``: a ready-to-run Raft cluster with its safety monitor."""

from __future__ import annotations

from typing import Any, Self

from ..errors import allowed
from ..notebook import default_seed
from ..sim import Network, Simulation
from ..sim.cluster import Cluster
from .invariants import RaftMonitor
from .node import LEADER, RaftNode
from .observer import Observer, Observers
from .options import RaftOptions


class RaftCluster(Cluster):
    """``n`` Raft servers ``s1 .. sn`` in one simulation, watched by a :class:`RaftMonitor`.

    ``options`` are passed to every server; ``node_class`` picks the implementation (a
    subclass, such as the key-value server or a deliberately broken Raft); ``observer`` adds
    an observer beside the monitor. Time and faults come from :class:`~dscourse.sim.cluster.Cluster`.
    """

    def __init__(self, n: int = 5, seed: int | None = None, network: Network | None = None,
                 options: RaftOptions | None = None, node_class: type[RaftNode] = RaftNode,
                 observer: Observer | None = None, **node_kwargs: Any) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 9:
            raise allowed("n", n, "an int from 1 to 9")
        self.nodes: dict[str, RaftNode] = {}
        super().__init__(Simulation(default_seed(seed), network=network), self.nodes)
        self.monitor = RaftMonitor()
        self.options = options or RaftOptions()
        watch = self.monitor if observer is None else Observers(self.monitor, observer)
        self.ids = [f"s{i + 1}" for i in range(n)]
        for sid in self.ids:
            self.nodes[sid] = node_class(sid, self.ids, self.options, watch, **node_kwargs)
            self.sim.add_node(self.nodes[sid])
        self.sim.run(until=self.sim.now)

    def __repr__(self) -> str:
        return f"<RaftCluster {len(self.ids)} servers t={self.sim.now:g} ms leader={self.leader()}>"

    # -- time ----------------------------------------------------------------------------
    def run(self, ms: float | None = None, *, until: float | None = None) -> Self:
        """Advance virtual time by ``ms`` (or to ``until``); heartbeats never stop, so one is needed."""
        if ms is None and until is None:
            raise allowed("run()", None, "a duration run(ms) or run(until=t): Raft's heartbeats "
                                         "never let the simulation run dry")
        return super().run(ms, until=until)

    def run_until_leader(self, timeout: float = 5_000) -> str | None:
        """Run until some live server leads (at most ``timeout`` ms); its id or None."""
        self.sim.run_until(lambda: self.leader() is not None, timeout)
        return self.leader()

    # -- state ---------------------------------------------------------------------------
    def leader(self) -> str | None:
        """The live leader of the highest term, if any."""
        best = None
        for sid, node in self.nodes.items():
            if self.up(sid) and node.role == LEADER and (best is None or node.term > best.term):
                best = node
        return None if best is None else best.id

    def state(self, sid: str) -> dict[str, Any]:
        """A server's state as plain data (``{"up": False}`` while crashed)."""
        node = self.nodes[sid]
        if not self.up(sid):
            return {"up": False, "term": node.stable.get("term", 0),
                    "log": [t for t, _ in node.stable.get("log", ())],
                    "base": node.stable.get("base_index", 0)}
        return {"up": True, "role": node.role, "term": node.term, "voted_for": node.voted_for,
                "commit": node.commit_index, "base": node.base_index,
                "log": [t for t, _ in node.log], "prevote": node.prevoting,
                "deadline": node.election_deadline if node.role != LEADER else None,
                "timeout": node.timeout}

    def logs(self) -> dict[str, list[tuple[int, Any]]]:
        """Each server's log (entries after its snapshot), crashed servers included."""
        return {sid: list(n.stable.get("log", ())) for sid, n in self.nodes.items()}

    @property
    def violations(self) -> list[Any]:
        return list(self.monitor.violations)

    # -- actions -------------------------------------------------------------------------
    def submit(self, command: Any, sid: str | None = None) -> tuple[int, int, bool]:
        """``start(command)`` on ``sid`` (default: the current leader)."""
        sid = sid or self.leader()
        if sid is None or not self.up(sid):
            return -1, -1, False
        return self.nodes[sid].start(command)

    def timeout(self, sid: str) -> None:
        """Make ``sid`` start an election now (its election timer "fires")."""
        self.nodes[sid].timeout_now()


def cluster(n: int = 5, seed: int | None = None, **kwargs: Any) -> RaftCluster:
    """A ready Raft cluster: ``ds.raft.cluster(n=5, seed=1).run(1000).leader()``.

    Keyword arguments go to :class:`RaftCluster` (``network``, ``options``, ``node_class``).
    """
    return RaftCluster(n, seed, **kwargs)
