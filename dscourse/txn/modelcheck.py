"""Model checking 2PC and 3PC with :func:`dscourse.checkers.explore.explore`.

The checked configuration: one coordinator ``c`` and participants ``p1..pn`` running the
transfer :func:`~.twopc.transfer`, every participant's data in :class:`~.rm.MemoryRM`
(plain data in ``stable``, so the checker can copy and compare states). Time is abstracted
away: any pending message or timer may come next, so a timeout may fire "too early" -- an
asynchronous network, where a timeout cannot tell a crashed node from a slow or
partitioned one. Each in-doubt participant asks once per incarnation (``inquiries=1``) to
keep the state space finite.

* :func:`check_2pc` -- atomicity and commit validity in every reachable state, with
  ``max_restarts`` crashes-and-recoveries of any node (``"correct"``), or the shortest
  counterexample for ``"heuristic"`` (a participant that aborts after voting yes) and
  ``"forgetful"`` (a coordinator that sends commit before logging it).
* :func:`blocking_2pc` -- the coordinator may stop for good at any point (``halt``); the
  search reaches the state where a participant is in doubt and nobody can tell it the outcome.
* :func:`check_3pc` -- the shortest schedule in which 3PC's timeout rules commit at one
  participant and abort at another.
"""

from __future__ import annotations

from typing import Any

from ..checkers.explore import ExploreResult, explore
from ..errors import allowed
from ..sim import Simulation
from .threepc import ThreePCCoordinator, ThreePCParticipant
from .twopc import (
    INVARIANTS,
    Coordinator,
    ForgetfulCoordinator,
    HeuristicParticipant,
    Participant,
    blocked,
    transfer,
)

VARIANTS = ("correct", "heuristic", "forgetful")
PROTOCOLS = ("2pc", "3pc")


def simulation(seed: int = 0, *, protocol: str = "2pc", participants: int = 2, variant: str = "correct",
               halt: bool = False, inquiries: int | None = 1, cooperative: bool = True,
               network: Any = None, dbs: dict[str, str] | None = None, amount: int = 10,
               timeout_ms: float = 100.0) -> Simulation:
    """The checked system as a bare simulation (also what :func:`~.system.cluster` wraps).

    ``dbs`` maps participant ids to SQLite files (None: :class:`~.rm.MemoryRM`)."""
    if protocol not in PROTOCOLS:
        raise allowed("protocol", protocol, f"one of {', '.join(PROTOCOLS)}")
    if variant not in VARIANTS:
        raise allowed("variant", variant, f"one of {', '.join(VARIANTS)}")
    txid, work = transfer(participants, amount)
    ids = sorted(work)
    sim = Simulation(seed=seed, network=network)
    pcls: type[Participant] = (ThreePCParticipant if protocol == "3pc" else
                               HeuristicParticipant if variant == "heuristic" else Participant)
    ccls: type[Coordinator] = (ThreePCCoordinator if protocol == "3pc" else
                               ForgetfulCoordinator if variant == "forgetful" else Coordinator)
    sim.add_node(ccls("c", [(txid, work)], timeout_ms=timeout_ms, halt=halt))
    for p in ids:
        rows = {k: 100 for k, _ in work[p]}
        sim.add_node(pcls(p, "c", ids, db=(dbs or {}).get(p), rows=rows, timeout_ms=timeout_ms,
                          inquiries=inquiries, cooperative=cooperative))
    return sim


class Variant:
    """``make_sim(seed)`` for one configuration (picklable, so results replay anywhere)."""

    def __init__(self, **options: Any) -> None:
        simulation(0, **options)          # validate now
        self.options = options

    def __call__(self, seed: int) -> Simulation:
        return simulation(seed, **self.options)

    def __repr__(self) -> str:
        return f"Variant({', '.join(f'{k}={v!r}' for k, v in sorted(self.options.items()))})"


def check_2pc(variant: str = "correct", *, participants: int = 2, max_restarts: int = 1,
              restartable: tuple[str, ...] | None = None, cooperative: bool = True,
              inquiries: int = 1, max_depth: int = 60, **options: Any) -> ExploreResult:
    """Search 2PC for a state breaking atomicity or commit validity (breadth-first); the
    ``restartable`` nodes (default: all) may crash and recover up to ``max_restarts`` times
    on a path."""
    make = Variant(protocol="2pc", participants=participants, variant=variant,
                   cooperative=cooperative, inquiries=inquiries)
    if restartable is None:
        restartable = ("c", *(f"p{i}" for i in range(1, participants + 1)))
    return explore(make, INVARIANTS, max_depth=max_depth, max_restarts=max_restarts,
                   restartable=restartable, **options)


def blocking_2pc(*, participants: int = 2, cooperative: bool = True, max_depth: int = 60,
                 **options: Any) -> ExploreResult:
    """Search for 2PC's blocking state with a coordinator that may stop at any point."""
    make = Variant(protocol="2pc", participants=participants, halt=True, cooperative=cooperative)
    return explore(make, INVARIANTS, goals={"blocked": blocked}, max_depth=max_depth, **options)


def check_3pc(*, participants: int = 2, max_depth: int = 60, **options: Any) -> ExploreResult:
    """Search 3PC (timeouts firing at any time: a partition or asynchrony) for a violation."""
    make = Variant(protocol="3pc", participants=participants)
    return explore(make, INVARIANTS, max_depth=max_depth, **options)
