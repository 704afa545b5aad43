"""``ds.txn.cluster(...)``: a coordinator and participants whose data lives in real SQLite files.

Each participant gets its own database file in a fresh temporary folder (one database per
simulated node); the file's path is in the node's ``stable`` storage, so a crash (the
connection closes) loses exactly the uncommitted local work and a recovery reopens the same
file. ``close()`` (or leaving a ``with`` block) closes every connection and removes the folder.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ..notebook import default_seed
from ..sim.cluster import Cluster
from .modelcheck import simulation
from .twopc import Participant, atomicity, commit_validity, outcomes, transfer


class TxnCluster(Cluster):
    """The built system (see the module docstring): ``outcomes()``, ``atomic()``,
    ``in_doubt()``, ``locks()``, ``balances()``, ``sql(node, query)``, ``close()``."""

    def __init__(self, sim: Any, folder: Path) -> None:
        super().__init__(sim, dict(sim.nodes))
        self.folder = folder

    def outcomes(self) -> dict[str, dict[str, str | None]]:
        """txid -> participant -> state in its SQLite ``txn_log``."""
        return outcomes(self.sim)

    def atomic(self) -> bool:
        """Atomicity and commit validity hold now."""
        return atomicity(self.sim) and commit_validity(self.sim)

    def in_doubt(self) -> list[str]:
        """Participants holding a prepared transaction with no decision yet."""
        return sorted(p for o in self.outcomes().values() for p, s in o.items() if s == "prepared")

    def sql(self, node: str, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query on ``node``'s database file (works while it is crashed)."""
        path = self.nodes[node].stable["db"]
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0)
        try:
            return conn.execute(query, args).fetchall()
        finally:
            conn.close()

    def locks(self) -> dict[str, list[tuple[str, str]]]:
        """participant -> its ``row_locks`` rows (key, txid)."""
        return {p: self.sql(p, "SELECT key, txid FROM row_locks ORDER BY key") for p in self.participants}

    def balances(self) -> dict[str, int]:
        """Every account's committed balance, over all participants."""
        return {k: v for p in self.participants for k, v in self.sql(p, "SELECT key, balance FROM accounts")}

    @property
    def participants(self) -> list[str]:
        return sorted(n for n, node in self.nodes.items() if isinstance(node, Participant))

    def close(self) -> None:
        """Close every connection and delete the databases' folder."""
        for n in self.participants:
            rm = getattr(self.nodes[n], "_sqlite", None)
            if rm is not None:
                rm.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def cluster(protocol: str = "2pc", participants: int = 3, *, seed: int | None = None,
            network: Any = None, timeout_ms: float = 100.0, amount: int = 10,
            inquiries: int | None = None, cooperative: bool = True, halt: bool = False) -> TxnCluster:
    """A coordinator ``c`` running the transfer :func:`~.twopc.transfer` over
    ``participants`` SQLite participants ``p1..``; in-doubt participants ask every
    ``timeout_ms`` (``inquiries`` bounds it; None: until resolved)."""
    _, work = transfer(participants, amount)
    folder = Path(tempfile.mkdtemp(prefix="dscourse-txn-"))
    dbs = {p: str(folder / f"{p}.sqlite") for p in work}
    try:
        sim = simulation(default_seed(seed), protocol=protocol, participants=participants,
                         network=network, dbs=dbs, inquiries=inquiries, cooperative=cooperative,
                         halt=halt, amount=amount, timeout_ms=timeout_ms)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return TxnCluster(sim, folder)
