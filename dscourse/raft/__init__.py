"""dscourse.raft: Raft per Figure 2 of the extended paper, its safety monitors, a replicated
key-value store, the 6.5840 test harness (``dscourse.raft.testing``), and the chapter's demos.

* :class:`RaftNode`, :class:`RaftOptions` -- the server and its options (PreVote,
  CheckQuorum, no-op, fast backtracking).
* :func:`cluster` -- ``ds.raft.cluster(n=5, seed=1)``, a ready cluster with its monitor;
  :func:`kv_cluster` -- the replicated key-value store with clerks.
* :class:`RaftMonitor` -- Election Safety, Leader Append-Only, Log Matching, Leader
  Completeness, State Machine Safety, checked at every state change.
* :func:`figure8` -- the paper's Figure 8 as a scripted replay;
  :class:`CountingOldTermsRaft` -- the mutant it exposes.
* :func:`visualizer`, :func:`figure` -- the chapter's widget and static figures (loaded
  from ``dscourse.viz.raft`` on first use).
"""

from typing import Any

from .builder import RaftCluster, cluster
from .figure8 import Figure8, Panel, figure8, figure8_adversary
from .invariants import INVARIANTS, RaftMonitor
from .kv import Clerk, KVCluster, KVReply, KVRequest, KVServer, kv_cluster
from .messages import (AppendEntries, AppendEntriesReply, ApplyMsg, InstallSnapshot,
                       InstallSnapshotReply, RequestVote, RequestVoteReply, TimeoutNow)
from .mutants import CountingOldTermsRaft, NoElectionRestrictionRaft
from .node import CANDIDATE, FOLLOWER, LEADER, RaftNode
from .observer import Observer, Observers
from .options import RaftOptions
from .timing import Election, TimingResult, elections, timing_run, timing_sweep
from . import exercises, testing  # noqa: E402 - submodules exposed as ds.raft.exercises/testing


def visualizer(*args: Any, **kwargs: Any) -> Any:
    """The Raft visualizer widget (see :func:`dscourse.viz.raft.visualizer`)."""
    from ..viz import raft as viz_raft

    return viz_raft.visualizer(*args, **kwargs)


def figure(*args: Any, **kwargs: Any) -> Any:
    """A static figure of a Raft cluster (see :func:`dscourse.viz.raft.figure`)."""
    from ..viz import raft as viz_raft

    return viz_raft.figure(*args, **kwargs)


def figure8_figure(broken: bool = False) -> Any:
    """The Figure 8 replay as panels (see :func:`dscourse.viz.raft.figure8_figure`)."""
    from ..viz import raft as viz_raft

    return viz_raft.figure8_figure(broken)


def timing_figure(results: Any) -> Any:
    """Heat maps of a timing sweep (see :func:`dscourse.viz.raft.timing_figure`)."""
    from ..viz import raft as viz_raft

    return viz_raft.timing_figure(results)


__all__ = [
    "CANDIDATE", "FOLLOWER", "INVARIANTS", "LEADER", "AppendEntries", "AppendEntriesReply",
    "ApplyMsg", "Clerk", "Election", "TimingResult", "elections", "figure8_figure",
    "timing_figure", "timing_run", "timing_sweep", "CountingOldTermsRaft", "Figure8", "InstallSnapshot",
    "InstallSnapshotReply", "KVCluster", "KVReply", "KVRequest", "KVServer",
    "NoElectionRestrictionRaft", "Observer", "Observers", "Panel", "RaftCluster",
    "RaftMonitor", "RaftNode", "RaftOptions", "RequestVote", "RequestVoteReply", "TimeoutNow",
    "cluster", "exercises", "figure8_adversary", "figure", "figure8", "kv_cluster", "testing", "visualizer",
]
