"""dscourse.raft: Raft per Figure 2 of the extended paper, its safety monitors, a replicated
key-value store, the 6.5840 test harness, and the chapter's demos.
"""

from .invariants import INVARIANTS, RaftMonitor
from .messages import (AppendEntries, AppendEntriesReply, ApplyMsg, InstallSnapshot,
                       InstallSnapshotReply, RequestVote, RequestVoteReply, TimeoutNow)
from .node import CANDIDATE, FOLLOWER, LEADER, RaftNode
from .observer import Observer, Observers
from .options import RaftOptions

__all__ = [
    "CANDIDATE", "FOLLOWER", "INVARIANTS", "LEADER", "AppendEntries", "AppendEntriesReply",
    "ApplyMsg", "InstallSnapshot", "InstallSnapshotReply", "Observer", "Observers",
    "RaftMonitor", "RaftNode", "RaftOptions", "RequestVote", "RequestVoteReply", "TimeoutNow",
]
