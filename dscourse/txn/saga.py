"""An orchestrated Saga on SQLite services: forward steps, compensations in reverse, a
durable saga log, and idempotent steps (Garcia-Molina & Salem, "Sagas", SIGMOD 1987, §2-§5;
Richardson, *Microservices Patterns*, 2018, ch. 4, orchestration).

A saga is a sequence of local transactions T1..Tn, one per service, with compensations
C1..Cn; it either runs T1..Tn or T1..Tk followed by Ck..C1 (backward recovery). The
orchestrator writes each step's start and outcome to its ``saga_log`` table before acting, so
after a crash it resumes from the log and re-sends the step in progress: steps arrive *at
least once*, so every service keeps a ``saga_step`` row per saga, written in the same local
transaction as its business change: a repeated step returns the recorded result, and a
compensation for a step that never ran records ``cancelled`` (so the late step is refused:
the Saga form of TCC's empty rollback and hanging). ``idempotent=False`` removes the row
checks, for comparison.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

STEPS = ("order", "payment", "inventory", "shipping")

SERVICE_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource (name TEXT PRIMARY KEY, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS saga_step (saga_id TEXT PRIMARY KEY, state TEXT NOT NULL);
"""


class SagaService:
    """One participant service: ``execute`` (T_i) and ``compensate`` (C_i), each one local
    transaction updating ``resource.used`` and the ``saga_step`` row."""

    def __init__(self, path: str | Path, name: str, *, idempotent: bool = True) -> None:
        self.name, self.idempotent = name, idempotent
        self.conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        self.conn.executescript(SERVICE_SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO resource VALUES (?, 0)", (name,))

    def _state(self, saga_id: str) -> str | None:
        row = self.conn.execute("SELECT state FROM saga_step WHERE saga_id = ?", (saga_id,)).fetchone()
        return None if row is None else str(row[0])

    def execute(self, saga_id: str, fail: bool = False) -> bool:
        """T_i: True if done; False if the business rule refused it (or it was cancelled)."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        state = self._state(saga_id)
        if self.idempotent and state is not None:
            c.execute("COMMIT")
            return state == "done"
        new = "failed" if fail else "done"
        c.execute("INSERT OR REPLACE INTO saga_step VALUES (?, ?)", (saga_id, new))
        if not fail:
            c.execute("UPDATE resource SET used = used + 1 WHERE name = ?", (self.name,))
        c.execute("COMMIT")
        return not fail

    def compensate(self, saga_id: str) -> None:
        """C_i: undo T_i if it ran; if it never ran, record ``cancelled`` so it never will."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        state = self._state(saga_id)
        if not self.idempotent or state == "done":
            c.execute("UPDATE resource SET used = used - 1 WHERE name = ?", (self.name,))
            c.execute("INSERT OR REPLACE INTO saga_step VALUES (?, 'compensated')", (saga_id,))
        elif state is None:
            c.execute("INSERT INTO saga_step VALUES (?, 'cancelled')", (saga_id,))
        c.execute("COMMIT")

    def used(self) -> int:
        return int(self.conn.execute("SELECT used FROM resource").fetchone()[0])

    def steps(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT saga_id, state FROM saga_step ORDER BY saga_id").fetchall())

    def close(self) -> None:
        self.conn.close()


def run_sagas(folder: str | Path, *, seed: int, sagas: int = 8, idempotent: bool = True,
              p_fail: float = 0.3, p_crash: float = 0.3, p_dup: float = 0.3) -> dict[str, object]:
    """Run ``sagas`` orders through :data:`STEPS`. The nemesis (stream ``"saga-nemesis"``):
    a step fails its business rule with probability ``p_fail`` (backward recovery follows);
    the orchestrator crashes after sending a step but before logging its outcome with
    ``p_crash`` (it resumes from ``saga_log`` and sends the step again); a message is
    duplicated with ``p_dup``. Returns each saga's step states per service and the
    invariants ``all_or_compensated`` (every saga completed, or every step that ran
    compensated), ``exactly_once`` (``resource.used`` equals the completed sagas) and
    ``no_phantom_compensation`` (no service's ``resource.used`` below zero)."""
    from ..sim import stream

    rng = stream(seed, "saga-nemesis")
    folder = Path(folder)
    services = [SagaService(folder / f"{s}.sqlite", s, idempotent=idempotent) for s in STEPS]
    log = sqlite3.connect(str(folder / "orchestrator.sqlite"), isolation_level=None)
    log.execute("CREATE TABLE IF NOT EXISTS saga_log (saga_id TEXT, step INTEGER, event TEXT)")
    try:
        for i in range(sagas):
            sid = f"s{i}"
            failing = int(rng.integers(len(STEPS))) if rng.random() < p_fail else -1
            done = 0
            ok = True
            for k, svc in enumerate(services):
                log.execute("INSERT INTO saga_log VALUES (?, ?, 'start')", (sid, k))
                ok = svc.execute(sid, fail=(k == failing))
                if rng.random() < p_dup:
                    svc.execute(sid, fail=(k == failing))          # the duplicated command
                if rng.random() < p_crash:                          # crash before logging: resend
                    ok = svc.execute(sid, fail=(k == failing))
                log.execute("INSERT INTO saga_log VALUES (?, ?, ?)", (sid, k, "done" if ok else "failed"))
                if not ok:
                    break
                done = k + 1
            if not ok:
                for k in reversed(range(done)):
                    services[k].compensate(sid)
                    if rng.random() < p_dup:
                        services[k].compensate(sid)
                    log.execute("INSERT INTO saga_log VALUES (?, ?, 'compensated')", (sid, k))
        per = {s.name: s.steps() for s in services}
        completed = [f"s{i}" for i in range(sagas) if all(per[n].get(f"s{i}") == "done" for n in STEPS)]
        all_or_comp = all(
            all(per[n].get(f"s{i}") == "done" for n in STEPS)
            or all(per[n].get(f"s{i}") in (None, "failed", "compensated", "cancelled") for n in STEPS)
            for i in range(sagas))
        exactly_once = all(s.used() == len(completed) for s in services)
        return {"steps": per, "completed": completed, "all_or_compensated": all_or_comp,
                "exactly_once": exactly_once, "no_phantom_compensation": all(s.used() >= 0 for s in services)}
    finally:
        for s in services:
            s.close()
        log.close()
