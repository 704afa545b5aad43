"""Raft's safety properties (Figure 3 of the extended paper) as an online monitor.

:class:`RaftMonitor` is an :class:`~dscourse.raft.observer.Observer`: every server reports
each state change to it, and it checks the property that change could break, at that
moment. Together that is a check after every event, at the cost of a few dict look-ups.

* **Election Safety** -- at most one leader per term (§5.2).
* **Leader Append-Only** -- a leader never deletes or overwrites its entries (§5.3).
* **Log Matching** -- two entries with the same index and term hold the same command and
  are preceded by identical logs (§5.3). Checked by induction: every entry (i, t) must
  carry the same command and the same term at i-1 wherever it appears.
* **Leader Completeness** -- a leader's log holds every entry committed in earlier terms
  (§5.4); checked when a leader takes office and whenever an entry becomes committed.
* **State Machine Safety** -- no two servers apply different commands at one index (§5.4.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..checkers.invariants import Violations
from .observer import Observer

if TYPE_CHECKING:
    from .messages import ApplyMsg
    from .node import RaftNode

INVARIANTS = ("Election Safety", "Leader Append-Only", "Log Matching", "Leader Completeness",
              "State Machine Safety")


class RaftMonitor(Observer):
    """Checks the five properties online; ``violations`` records breaches."""

    def __init__(self) -> None:
        self.violations = Violations()
        self.leaders: dict[int, str] = {}                  # term -> leader
        self.entries: dict[tuple[int, int], tuple[Any, int | None]] = {}  # (index, term) -> (cmd, prev term)
        self.committed: dict[int, tuple[int, Any]] = {}    # index -> (term, command)
        self.commit_term: dict[int, int] = {}              # index -> term it was committed in
        self.applied: dict[int, Any] = {}                  # index -> command
        self.nodes: dict[str, RaftNode] = {}

    def _report(self, node: RaftNode, name: str, detail: str) -> None:
        self.violations.report(name, node.now, detail)

    def assert_ok(self) -> None:
        self.violations.assert_ok()

    # -- hooks ------------------------------------------------------------------------------
    def on_role(self, node: RaftNode) -> None:
        self.nodes[node.id] = node
        if node.role != "leader":
            return
        term = node.term
        other = self.leaders.setdefault(term, node.id)
        if other != node.id:
            self._report(node, "Election Safety", f"{other} and {node.id} both lead term {term}")
        commit_term = self.commit_term
        for index, (t, cmd) in self.committed.items():
            if commit_term[index] < term:
                self._complete(node, index, t, cmd)

    def _complete(self, leader: RaftNode, index: int, term: int, cmd: Any) -> None:
        if index <= leader.base_index:
            return
        if index > leader.last_index or leader.entry(index) != (term, cmd):
            self._report(leader, "Leader Completeness",
                         f"leader {leader.id} of term {leader.term} lacks committed entry "
                         f"{index} (term {term}, {cmd!r})")

    def on_append(self, node: RaftNode, first: int) -> None:
        entries = self.entries
        prev_term = node.term_at(first - 1)
        for index in range(first, node.last_index + 1):
            term, cmd = node.entry(index)
            seen = entries.setdefault((index, term), (cmd, prev_term))
            if seen != (cmd, prev_term):
                self._report(node, "Log Matching",
                             f"{node.id} holds entry {index} of term {term} as {cmd!r} after "
                             f"term {prev_term}; elsewhere it is {seen[0]!r} after term {seen[1]}")
            prev_term = term

    def on_truncate(self, node: RaftNode, first: int) -> None:
        if node.role == "leader":
            self._report(node, "Leader Append-Only",
                         f"leader {node.id} of term {node.term} deletes entries from {first}")

    def on_commit(self, node: RaftNode, old: int, new: int) -> None:
        committed = self.committed
        for index in range(max(old, node.base_index) + 1, new + 1):
            entry = node.entry(index)
            seen = committed.get(index)
            if seen is None:
                committed[index] = entry
                when = self.commit_term[index] = node.term
                for other in self.nodes.values():  # leaders of later terms must hold it
                    if (other is not node and getattr(other, "role", None) == "leader"
                            and other.term > when):
                        self._complete(other, index, *entry)
            elif seen != entry:
                self._report(node, "State Machine Safety",
                             f"{node.id} commits {entry} at index {index}, but {seen} "
                             "was committed there")

    def on_apply(self, node: RaftNode, msg: ApplyMsg) -> None:
        if msg.snapshot_valid:
            return
        seen = self.applied.setdefault(msg.index, msg.command)
        if seen != msg.command:
            self._report(node, "State Machine Safety",
                         f"{node.id} applies {msg.command!r} at index {msg.index}, another "
                         f"server applied {seen!r}")
