"""The hooks through which a Raft server reports its state changes to an onlooker.

Invariant monitors and the 6.5840 test harness are observers: each server calls these
methods right after the change, so a monitor checks a property exactly when the state it
depends on changes, which is equivalent to checking after every event but far cheaper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .messages import ApplyMsg
    from .node import RaftNode


class Observer:
    """Base class: every hook does nothing. Override the ones you need."""

    def on_request(self, node: RaftNode, src: str, msg: Any) -> None:
        """A Raft request (RequestVote, AppendEntries, InstallSnapshot) was delivered."""

    def on_role(self, node: RaftNode) -> None:
        """``node``'s role, term or vote changed (``node.role``, ``node.term``)."""

    def on_append(self, node: RaftNode, first: int) -> None:
        """Entries ``first .. node.last_index`` were appended (by a leader or a follower)."""

    def on_truncate(self, node: RaftNode, first: int) -> None:
        """Entries from ``first`` on are about to be deleted (a conflict, §5.3)."""

    def on_commit(self, node: RaftNode, old: int, new: int) -> None:
        """``node.commit_index`` advanced from ``old`` to ``new``."""

    def on_apply(self, node: RaftNode, msg: ApplyMsg) -> None:
        """``node`` hands ``msg`` (a command or a snapshot) to its state machine."""

    def on_snapshot(self, node: RaftNode) -> None:
        """``node``'s log now starts after a new snapshot (``node.base_index``)."""


class Observers(Observer):
    """Several observers called in order."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            hooks = [getattr(o, name) for o in object.__getattribute__(self, "observers")]

            def call(*args: Any) -> None:
                for hook in hooks:
                    hook(*args)
            return call
        return object.__getattribute__(self, name)
