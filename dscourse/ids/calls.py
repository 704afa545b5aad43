"""Request/reply with timeouts and retries for allocator nodes (timers carry data only).

A node mixes in :class:`Caller`, sends with ``self.call(dst, make, purpose, timeout_ms)``
where ``make(req)`` builds the message, and gets ``self.on_<purpose>(reply, ctx)`` on the
reply or ``self.on_<purpose>_timeout(ctx)`` after ``timeout_ms``. Request ids come from a
counter in ``stable``, so a reply to a request sent before a crash is never mistaken for a
reply to a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..sim import Node


class Caller(Node):
    """A node that makes calls with timeouts; replies must carry ``req``."""

    _calls: dict[int, tuple[str, Any, int]]

    def call(self, dst: str, make: Callable[[int], Any], purpose: str, timeout_ms: float,
             ctx: Any = None) -> int:
        req = self.stable.get("next_req", 0)
        self.stable["next_req"] = req + 1
        handle = self.set_timer(timeout_ms, "call_timeout", req)
        self.__dict__.setdefault("_calls", {})[req] = (purpose, ctx, handle)
        self.send(dst, make(req))
        return req

    def take_reply(self, msg: Any) -> bool:
        """Dispatch a reply to its ``on_<purpose>``; False if it answers no pending call."""
        req = getattr(msg, "req", None)
        calls = self.__dict__.setdefault("_calls", {})
        if req not in calls:
            return False
        purpose, ctx, handle = calls.pop(req)
        self.cancel_timer(handle)
        getattr(self, f"on_{purpose}")(msg, ctx)
        return True

    def take_timeout(self, name: str, payload: Any) -> bool:
        """Dispatch a ``call_timeout`` timer; False for any other timer."""
        if name != "call_timeout":
            return False
        entry = self.__dict__.setdefault("_calls", {}).pop(payload, None)
        if entry is not None:
            purpose, ctx, _ = entry
            getattr(self, f"on_{purpose}_timeout")(ctx)
        return True
