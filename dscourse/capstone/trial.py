"""One seeded MiniMall run under the combined nemesis, judged; and shrinking a failing schedule.

``trial(seed)`` builds :func:`~.system.minimall`, draws a combined schedule (partitions,
crashes and restarts, pauses, clock jumps, from the simulation's ``"nemesis"`` stream) over
the workload's first ``fault_window_ms``, adds message loss and duplication on the
application's links, runs the workload and the quiet period, and checks the six invariants.
``shrink(run, invariant)`` removes nemesis actions one at a time while the invariant still
fails (a 1-minimal schedule, as delta debugging ends with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import NodeStateError
from .invariants import INVARIANTS, Verdict
from .orders import OrderService, OrderServiceBase
from .system import NEMESIS_KINDS, MiniMall, minimall


@dataclass(frozen=True)
class Run:
    """A judged run: its seed, the defences removed, the schedule (on processes), every
    invariant's verdict, the trace digest and a summary."""

    seed: int
    without: tuple[str, ...]
    schedule: tuple[tuple[float, tuple[Any, ...]], ...]
    verdicts: dict[str, Verdict]
    digest: str
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts.values())

    def failed(self) -> list[str]:
        return [n for n in INVARIANTS if not self.verdicts[n].ok]


def trial(seed: int, *, without: Iterable[str] = (), order_service: type[OrderServiceBase] = OrderService,
          kinds: Sequence[str] = NEMESIS_KINDS, schedule: Sequence[Any] | None = None,
          loss: float = 0.02, duplicate: float = 0.02, fault_window_ms: float = 3_000.0,
          mean_gap: float = 250.0, mean_duration: float = 400.0, keep: bool = False,
          **options: Any) -> Run | tuple[Run, MiniMall]:
    """Build, fault, run and judge (module docstring). ``schedule`` replaces the random one
    (``mean_gap``/``mean_duration`` shape it); ``keep=True`` also returns the
    :class:`~.system.MiniMall` (the caller closes it)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise allowed("seed", seed, "an int >= 0")
    mall = minimall(seed, order_service=order_service, without=without, loss=loss, duplicate=duplicate, **options)
    try:
        if schedule is None:
            schedule = (mall.random_nemesis(mall.now + fault_window_ms, kinds=kinds, mean_gap=mean_gap,
                                            mean_duration=mean_duration) if kinds else [])
        mall.schedule(schedule)
        mall.run_workload()
        run = Run(seed, mall.without, tuple((float(t), tuple(a)) for t, a in mall.schedule_log), mall.check(),
                  mall.digest(), mall.summary())
    except BaseException:
        mall.close()
        raise
    if keep:
        return run, mall
    mall.close()
    return run


def critical_pause(seed: int, *, process: str = "order1", nth: int = 0, pause_ms: float = 400.0,
                   **options: Any) -> list[tuple[float, tuple[Any, ...]]]:
    """A targeted nemesis (Jepsen's style: aim where the hazard is): run once without faults,
    find the ``nth`` time ``process`` gets a stock value back *inside the lock*, and pause that
    process just before it arrives, for longer than the lease. The run is deterministic up to
    the first fault, so the pause lands in the critical section of the replay."""
    mall = minimall(seed, **options)
    try:
        node = mall.processes[process][-1] if process in mall.processes else None
        if node is None or not process.startswith("order"):
            orders = ", ".join(p for p in mall.processes if p.startswith("order"))
            raise allowed("process", process, f"an order process ({orders})")
        mall.run_workload()
        times = [e.time / 1000 for e in mall.sim.trace if e.kind == "deliver" and e.node == node
                 and e.label == "StockValue"]
    finally:
        mall.close()
    if not 0 <= nth < len(times):
        raise allowed("nth", nth, f"an index below {len(times)} (the stock reads {process} made)")
    return [(times[nth] - 0.5, ("pause", process, pause_ms))]


def shrink(run: Run, invariant: str, *, order_service: type[OrderServiceBase] = OrderService,
           **options: Any) -> Run:
    """The smallest schedule (no single action can be removed) that still breaks ``invariant``,
    replayed with the same seed and defences."""
    if invariant not in INVARIANTS:
        raise allowed("invariant", invariant, f"one of {', '.join(INVARIANTS)}")
    if run.verdicts[invariant].ok:
        raise allowed("run", f"seed {run.seed}", f"a run in which {invariant} fails")
    best = run
    i = 0
    while i < len(best.schedule):
        candidate = [a for j, a in enumerate(best.schedule) if j != i]
        try:
            r = trial(run.seed, without=run.without, order_service=order_service, schedule=candidate, **options)
        except NodeStateError:   # e.g. a recover left without its crash: not a valid schedule
            i += 1
            continue
        assert isinstance(r, Run)
        if not r.verdicts[invariant].ok:
            best = r
        else:
            i += 1
    return best
