"""A simulated SQL database holding the allocation tables (state in ``stable``: it is durable).

One node answers four statements atomically, one message at a time:

* Leaf's ``leaf_alloc`` row (Meituan Leaf, ``IDAllocDaoImpl``): ``AllocSegment`` runs
  ``UPDATE SET max_id = max_id + step`` and returns the row (``SegmentRow``);
* Tinyid's ``tiny_id_info`` row (Didi Tinyid, ``TinyIdInfoDAOImpl``): ``QueryRow`` and the
  optimistic ``CasMaxId`` (``... WHERE id=? AND max_id=? AND version=?``);
* an ``AUTO_INCREMENT`` column with MySQL's ``auto_increment_increment`` /
  ``auto_increment_offset`` (``Insert``), so N masters hand out disjoint residues mod N.

Crashing the node makes it unavailable (requests are dropped); its tables survive.
"""

from __future__ import annotations

from typing import Any

from ..errors import allowed
from ..sim import Node
from .messages import AllocSegment, CasMaxId, CasResult, DbError, Insert, Inserted, QueryRow, Row, SegmentRow


def _pos_int(what: str, v: object, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise allowed(what, v, f"an int >= {minimum}")
    return v


class Database(Node):
    """A database node. ``rows`` maps a biz tag to its allocation row (created once).

    A row is ``{"max_id", "step", "delta", "remainder"}`` (``version`` starts at 0);
    ``auto_increment=(increment, offset)`` sets up the auto-increment column.
    """

    def __init__(self, id: str = "db", *, rows: dict[str, dict[str, int]] | None = None,
                 auto_increment: tuple[int, int] = (1, 1)) -> None:
        super().__init__(id)
        inc, off = auto_increment
        _pos_int("auto_increment_increment", inc)
        _pos_int("auto_increment_offset", off)
        if off > inc:
            raise allowed("auto_increment_offset", off,
                          f"an offset <= auto_increment_increment ({inc}), as MySQL requires")
        if "rows" not in self.stable:  # first start only: the tables are durable
            table: dict[str, dict[str, int]] = {}
            for biz, spec in (rows or {}).items():
                step = _pos_int(f"step of {biz!r}", spec.get("step", 1000))
                delta = _pos_int(f"delta of {biz!r}", spec.get("delta", 1))
                rem = spec.get("remainder", 0)
                if isinstance(rem, bool) or not isinstance(rem, int) or not 0 <= rem < delta:
                    raise allowed(f"remainder of {biz!r}", rem, f"an int in [0, {delta})")
                table[biz] = {"max_id": _pos_int(f"max_id of {biz!r}", spec.get("max_id", 1), 0),
                              "step": step, "version": 0, "delta": delta, "remainder": rem}
            self.stable["rows"] = table
            self.stable["auto"] = off - inc  # the last id handed out
        self.increment = inc
        self.statements = 0

    def row(self, biz: str) -> dict[str, int]:
        """The current row for ``biz`` (a live view)."""
        return self.stable["rows"][biz]

    def on_message(self, src: str, msg: Any) -> None:
        self.statements += 1
        reply = self.execute(msg)
        if reply is not None:
            self.send(src, reply)

    def execute(self, msg: Any) -> Any:
        """Run one statement message and return the reply message."""
        if isinstance(msg, Insert):
            self.stable["auto"] += self.increment
            return Inserted(msg.req, self.stable["auto"])
        rows = self.stable["rows"]
        biz = getattr(msg, "biz", None)
        if biz not in rows:
            return DbError(getattr(msg, "req", -1), f"no row for biz tag {biz!r}")
        row = rows[biz]
        if isinstance(msg, AllocSegment):
            step = row["step"] if msg.step is None else msg.step
            row["max_id"] += step
            return SegmentRow(msg.req, msg.biz, row["max_id"], step)
        if isinstance(msg, QueryRow):
            return Row(msg.req, msg.biz, row["max_id"], row["step"], row["version"], row["delta"],
                       row["remainder"])
        if isinstance(msg, CasMaxId):
            ok = row["max_id"] == msg.old_max and row["version"] == msg.version
            if ok:
                row["max_id"] = msg.new_max
                row["version"] += 1
            return CasResult(msg.req, ok)
        return DbError(getattr(msg, "req", -1), f"unknown statement {type(msg).__name__}")
