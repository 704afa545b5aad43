"""``FencedResource``: a storage service that rejects stale fencing tokens.

Kleppmann (2016), "How to do distributed locking", and Burrows (OSDI 2006), Chubby's
sequencers: the lock service hands out a number that grows with every grant, the client sends
it with each write, and the resource remembers the highest token it has processed and rejects
any write with a lower one. A token equal to the highest but from another client is rejected
too: two grants with one token mean the token source lost its counter (a Redis failover).
Without fencing (``fencing=False``) it accepts everything, as most storage does.
"""

from __future__ import annotations

from typing import Any

from ..sim import Node
from .audit import Audit
from .messages import Write, WriteResult


class FencedResource(Node):
    """The protected resource; ``log`` lists ``(time, client, token, accepted, reason)``."""

    def __init__(self, id: str = "storage", *, audit: Audit | None = None, fencing: bool = True) -> None:
        super().__init__(id)
        self.audit, self.fencing = audit, fencing
        self.max_token: int | None = None
        self.max_client: str | None = None
        self.log: list[tuple[float, str, int | None, bool, str]] = []
        self.value: Any = None

    def verdict(self, client: str, token: int | None) -> str:
        """"" to accept, else why the write is rejected."""
        if not self.fencing:
            return ""
        if token is None:
            return "no fencing token"
        if self.max_token is not None and token < self.max_token:
            return f"stale token {token} < {self.max_token}"
        if token == self.max_token and client != self.max_client:
            return f"token {token} already used by {self.max_client}"
        return ""

    def apply(self, msg: Write) -> str:
        """Apply or reject one write (also for a caller on this host); "" if accepted, else why."""
        reason = self.verdict(msg.client, msg.token)
        if not reason:
            self.value = msg.value
            if msg.token is not None and (self.max_token is None or msg.token >= self.max_token):
                self.max_token, self.max_client = msg.token, msg.client
        self.log.append((self.now, msg.client, msg.token, not reason, reason))
        if self.audit is not None:
            self.audit.applied(msg.write_id, self.now, not reason, reason)
        self.annotate(value=str(msg.value), max_token=self.max_token)
        return reason

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Write):
            reason = self.apply(msg)
            self.send(src, WriteResult(msg.req, not reason, reason))
