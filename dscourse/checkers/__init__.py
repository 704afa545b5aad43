"""Checkers that judge what a simulated system did: linearizability, invariants, exploration.

Submodules (each imported on first use, so ``ds.checkers.explore`` needs no import first):
:mod:`.linearizability` (the Wing-Gong/Lowe search over a history), :mod:`.models` (the
operations and sequential models it judges), :mod:`.linearizability_core` (a minimal set of
operations explaining an illegal verdict), :mod:`.linearizability_json` (histories as JSON
for other checkers such as Porcupine), :mod:`.sequential` (sequential consistency:
one order of all operations that keeps each client's program order), :mod:`.session`
(Terry et al.'s session guarantees: read your writes, monotonic reads, writes follow reads,
monotonic writes), :mod:`.causal` (causal consistency, causal memory and causal convergence
by Bouajjani et al.'s bad patterns), :mod:`.histories`
(generated test histories),
:mod:`.invariants` (monitors of safety properties), :mod:`.explore` (a small explicit-state
model checker) and :mod:`.trial` (one seeded run of a property check, what every exercise
harness returns).
"""

from .._lazy import lazy
from . import linearizability

__all__ = ["linearizability"]

__getattr__, __dir__ = lazy(__name__, globals())
