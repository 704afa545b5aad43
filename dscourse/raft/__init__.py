"""dscourse.raft: Raft per Figure 2 of the extended paper, its safety monitors, a replicated
key-value store, the 6.5840 test harness (``dscourse.raft.testing``), and the chapter's demos.

* :class:`RaftNode`, :class:`RaftOptions` -- the server and its options (PreVote,
  CheckQuorum, no-op, fast backtracking).
* :func:`cluster` -- ``ds.raft.cluster(n=5, seed=1)``, a ready cluster with its monitor;
  :func:`kv_cluster` -- the replicated key-value store with clerks recording one history
  (a ``dscourse.history.Recorder``).
* :mod:`.demos` -- the election restriction, CheckQuorum and lease reads, each a short
  seeded scenario (:class:`~dscourse.raft.demos.LeaseRaft` adds leader leases).
* :mod:`.exercises` -- Chapter 6's harnesses; each returns a ``checkers.trial.Trial``.
* :class:`RaftMonitor` -- Election Safety, Leader Append-Only, Log Matching, Leader
  Completeness, State Machine Safety, checked at every state change.
* :func:`figure8` -- the paper's Figure 8 as a scripted replay;
  :class:`CountingOldTermsRaft` -- the mutant it exposes.
* :mod:`.labs` -- the chapter's widget and static figures, loaded on first use:
  :func:`visualizer`, :func:`figure`, :func:`figure8_figure`, :func:`timing_figure`.
"""

from .._lazy import lazy
from . import demos, exercises, testing
from .builder import RaftCluster, cluster
from .figure8 import Figure8, Panel, figure8, figure8_adversary
from .invariants import INVARIANTS, RaftMonitor
from .kv import Clerk, KVCluster, KVReply, KVRequest, KVServer, kv_cluster
from .messages import (
    AppendEntries,
    AppendEntriesReply,
    ApplyMsg,
    InstallSnapshot,
    InstallSnapshotReply,
    RequestVote,
    RequestVoteReply,
    TimeoutNow,
)
from .mutants import CountingOldTermsRaft, NoElectionRestrictionRaft
from .node import CANDIDATE, FOLLOWER, LEADER, RaftNode
from .observer import Observer, Observers
from .options import RaftOptions
from .timing import Election, TimingResult, elections, timing_run, timing_sweep, timing_table

__all__ = [
                       "CANDIDATE",
                       "FOLLOWER",
                       "INVARIANTS",
                       "LEADER",
                       "AppendEntries",
                       "AppendEntriesReply",
                       "ApplyMsg",
                       "Clerk",
                       "CountingOldTermsRaft",
                       "Election",
                       "Figure8",
                       "InstallSnapshot",
                       "InstallSnapshotReply",
                       "KVCluster",
                       "KVReply",
                       "KVRequest",
                       "KVServer",
                       "NoElectionRestrictionRaft",
                       "Observer",
                       "Observers",
                       "Panel",
                       "RaftCluster",
                       "RaftMonitor",
                       "RaftNode",
                       "RaftOptions",
                       "RequestVote",
                       "RequestVoteReply",
                       "TimeoutNow",
                       "TimingResult",
                       "cluster",
                       "demos",
                       "elections",
                       "exercises",
                       "figure",
                       "figure8",
                       "figure8_adversary",
                       "figure8_figure",
                       "kv_cluster",
                       "labs",
                       "testing",
                       "timing_figure",
                       "timing_run",
                       "timing_sweep",
                       "timing_table",
                       "visualizer",
]

# labs (the widget and figures, matplotlib) load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("labs",), dict.fromkeys(
    ("figure", "figure8_figure", "timing_figure", "visualizer"), "labs"))
