"""Chapter 1 building blocks: Two Generals, heartbeat failure detection, primary-backup.

Submodules: :mod:`.two_generals` (the "k confirmations" protocols and their adversary),
:mod:`.heartbeat` (a fixed-timeout heartbeat failure detector, its timeout sweep, and
heartbeat-driven failover with and without a quorum) and :mod:`.primary_backup` (a naive
asynchronous primary-backup store, the subject of exercise E1.3) and :mod:`.byzantine` (the
Byzantine Generals' algorithm OM(1) with a general who lies). The chapter's labs (the
Two Generals adversary, timeout versus false suspicion) are in :mod:`.labs`, loaded on first use.
"""

from .._lazy import lazy
from . import byzantine, heartbeat, primary_backup, two_generals
from .heartbeat import FailoverNode, HeartbeatMonitor, HeartbeatSender, split_brain
from .primary_backup import PBClient, PBCluster, PBServer, lost_writes
from .two_generals import AdversaryResult, General, Messenger, Outcome, adversary, adversary_table

__all__ = ["AdversaryResult", "FailoverNode", "General", "HeartbeatMonitor", "HeartbeatSender", "Messenger",
           "Outcome", "PBClient", "PBCluster", "PBServer", "adversary", "adversary_table", "byzantine",
           "heartbeat", "labs", "lost_writes", "primary_backup", "split_brain", "two_generals"]

# labs (widgets, matplotlib) load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("labs",))
