"""Deliberately broken servers: what the monitor and the checks must catch.

* :class:`EagerCommitServer` -- the leader commits a proposal as soon as it logs it, without
  waiting for a quorum of ACKs (the story of seed erratum E9 told backwards: a proposal only
  the old leader had is then delivered, and a new leader that never saw it replaces it).
"""

from __future__ import annotations

from .server import ZKServer


class EagerCommitServer(ZKServer):
    """Counts its own ACK as a quorum when committing."""

    def _quorum(self, sids: set[int]) -> bool:
        if self.phase == "broadcast" and self.outstanding:
            return True
        return super()._quorum(sids)

