"""Replicated key-value stores for Chapter 3: quorums, CAP modes, repair.

* :func:`cluster` builds a store (replicas ``r*``, clients ``c*``, a shared history) in
  mode ``"cp"`` (majority quorums + ABD), ``"ap"`` (any replica + last-writer-wins) or
  ``"quorum"`` (Dynamo-style N/R/W); :class:`Config` holds every knob.
* :class:`Replica` and :class:`KVClient` are the ``ds.sim`` nodes; :mod:`.merkle`,
  :mod:`.ring` and :mod:`.versions` (LWW and version vectors) are their building blocks.
* :mod:`.experiments`: stale reads for N/R/W, the R + W > N anomaly, the repair race and
  the cost of a Merkle sync, behind the chapter's quorum calculator and repair race.
* :mod:`.labs` (imported on first use): the chapter's widgets -- the CAP switchboard, the
  quorum calculator and the repair race.
* :mod:`.exercises` (imported on first use): the harnesses of exercise E3.3 (repair).
"""

from .._lazy import lazy
from . import experiments, merkle, versions
from .client import KVClient, Workload
from .cluster import Cluster, cluster, kv_operations, majority_minority
from .config import Config, preset
from .replica import Replica
from .ring import Ring

__all__ = ["Cluster", "Config", "KVClient", "Replica", "Ring", "Workload", "cluster",
           "exercises", "experiments", "kv_operations", "labs", "majority_minority", "merkle", "preset", "versions"]

# labs (widgets, matplotlib) and exercises (grading harnesses) load on first use.
__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises"))
