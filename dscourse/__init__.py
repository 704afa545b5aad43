"""dscourse: deterministic, seeded simulations of distributed systems, the library of the textbook.

``import dscourse as ds``; every package below is an attribute, imported on first use:

* ``ds.sim`` -- the discrete-event kernel: nodes, network and link models, faults, traces.
* ``ds.checkers`` -- linearizability, invariant monitors, state-space exploration, trials.
* ``ds.history`` -- the Jepsen-style operation recorder every client history goes through.
* ``ds.viz`` -- the toolkit: space-time diagrams, cluster graph, Player, Debugger, Lab.
* ``ds.fundamentals`` -- Chapter 1: Two Generals, heartbeat failure detection, primary-backup.
* ``ds.clocks`` -- Chapter 2: Lamport, vector and hybrid clocks, happens-before, ordered broadcast.
* ``ds.replication`` -- Chapter 3: quorum and CAP-mode key-value stores, repair.
* ``ds.gossip`` -- Chapter 4: epidemic anti-entropy and rumor mongering, gossip broadcast.
* ``ds.paxos`` -- Chapter 5: Basic and Multi-Paxos, dueling proposers, model checking.
* ``ds.raft`` -- Chapter 6: Raft, its safety monitors, a replicated key-value store.
* ``ds.zk`` -- Chapters 7 and 8: ZooKeeper's data tree, sessions, watches and ZAB.
* ``ds.redis`` -- a single-node Redis emulator with real Lua scripting (``INCR`` ids, the locks chapter).
* ``ds.redis_cluster`` -- Redis Cluster: hash slots, the cluster bus, failover, MOVED/ASK resharding.
* ``ds.locks`` -- Chapter 9: distributed locks on Redis (naive, token, Redisson RLock, Redlock) and fencing.
* ``ds.ids`` -- Chapter 10: distributed ID generators, simulated and measured.
* ``ds.idesign`` -- Chapter 11: coupon codes, order numbers, trace ids, short URLs.
* ``ds.rpc`` -- Chapter 12: an RPC framework with Dubbo's registry, load balancers and cluster strategies.
* ``ds.gateway`` -- Chapter 13: an API gateway with Spring Cloud Gateway's routes, filters, rate limiter and breaker.
* ``ds.txn`` -- Chapter 14: 2PC and 3PC model checked, on resource managers in real SQLite.
* ``ds.config`` -- Chapter 15: configuration centers, Nacos and Apollo long polling, push, releases, gray release.
* ``ds.capstone`` -- Chapter 16: MiniMall, the earlier chapters composed, under a combined nemesis.
* ``ds.grading`` -- the exercise format, ``check("E1.1")`` self-checks, the sandboxed grader.
* ``ds.cli`` -- the ``dscourse`` console script: ``assign``, ``grade``, ``execute``.
* ``ds.errors`` -- the one exception hierarchy (``DscourseError``; config errors are ``ValueError``).
* ``ds.notebook`` -- ``ds.setup(seed=...)`` at the top of every chapter.

A topic's widgets live in ``ds.<topic>.labs`` and its exercise harnesses in
``ds.<topic>.exercises`` (Chapter 1's in ``ds.grading.ch01``, Chapter 5's in
``ds.paxos.harness``), loaded on first use. ``ds.show(obj)`` shows the highlighted source
of a function, method or class (``ds.viz.source``), so a chapter puts the algorithm on the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy
from .errors import ConfigError, DscourseError
from .notebook import setup

if TYPE_CHECKING:  # the lazy attributes typed for mypy (``x as x`` re-exports); never imported at run time
    from . import capstone as capstone
    from . import checkers as checkers
    from . import cli as cli
    from . import clocks as clocks
    from . import config as config
    from . import fundamentals as fundamentals
    from . import gateway as gateway
    from . import gossip as gossip
    from . import grading as grading
    from . import history as history
    from . import idesign as idesign
    from . import ids as ids
    from . import locks as locks
    from . import paxos as paxos
    from . import raft as raft
    from . import redis as redis
    from . import redis_cluster as redis_cluster
    from . import replication as replication
    from . import rpc as rpc
    from . import sim as sim
    from . import txn as txn
    from . import viz as viz
    from . import zk as zk
    from .viz.source import show as show

__version__ = "0.1.0"
__all__ = ["ConfigError", "DscourseError", "__version__", "setup"]

__getattr__, __dir__ = lazy(__name__, globals(), attributes={"show": "viz.source"})
