"""Deliberately broken Raft servers, for tests, the chapter and exercise E6.3.

Each mutant breaks exactly one rule of Figure 2, so the safety monitors can be shown to
catch it.
"""

from __future__ import annotations

from .node import RaftNode


class CountingOldTermsRaft(RaftNode):
    """Commits *any* entry stored on a majority, even one from an earlier term -- the rule
    §5.4.2 forbids. Figure 8 shows how such an entry can still be overwritten."""

    def _commit_allowed(self, index: int) -> bool:
        return True


class NoElectionRestrictionRaft(RaftNode):
    """Grants votes without comparing logs (drops §5.4.1's election restriction)."""

    def _up_to_date(self, last_index: int, last_term: int) -> bool:
        return True
