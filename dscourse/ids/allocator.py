"""The common shape of a simulated id allocator: the application asks for ids at a steady
rate (a ``demand`` timer); each request waits in a queue until the allocator can answer; every
id handed out is appended to a shared ``sink`` list as an :class:`~.messages.Issued` record.

The sink is a constructor argument, so it is the same list after a crash (a crash loses the
allocator's memory, never what it already handed out). Latency = issued - requested.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from ..errors import allowed
from .calls import Caller
from .messages import Issued


def positive(what: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
        raise allowed(what, v, "a positive finite number")
    return v


class Allocator(Caller, ABC):
    """Base class: subclasses implement ``take() -> int | None`` and start loading on None."""

    def __init__(self, id: str, *, sink: list[Issued], demand_interval_ms: float = 1.0,
                 timeout_ms: float = 50.0, stop_ms: float | None = None) -> None:
        super().__init__(id)
        if not isinstance(sink, list):
            raise allowed("sink", sink, "a list (shared; ids are appended to it)")
        self.sink = sink
        self.demand_interval_ms = positive("demand_interval_ms", demand_interval_ms)
        self.timeout_ms = positive("timeout_ms", timeout_ms)
        self.stop_ms = stop_ms
        self.waiting: list[float] = []

    def on_start(self) -> None:
        self.set_timer(self.demand_interval_ms, "demand")
        self.boot()

    def boot(self) -> None:
        """Start-up work (e.g. load the first segment)."""

    def on_timer(self, name: str, payload: Any) -> None:
        if self.take_timeout(name, payload):
            return
        if name == "demand":
            if self.stop_ms is None or self.now < self.stop_ms:
                self.waiting.append(self.now)
                self.set_timer(self.demand_interval_ms, "demand")
            self.serve()
        else:
            self.on_other_timer(name, payload)

    def on_other_timer(self, name: str, payload: Any) -> None:
        """Timers other than demand and call timeouts."""

    def on_message(self, src: str, msg: Any) -> None:
        self.take_reply(msg)

    @abstractmethod
    def take(self) -> int | None:
        """An id now, or None (and start whatever brings the next one)."""

    def serve(self) -> None:
        """Answer waiting requests in order while ids are available."""
        while self.waiting:
            ident = self.take()
            if ident is None:
                return
            self.sink.append(Issued(self.id, self.waiting.pop(0), self.now, ident))


class RoundTripAllocator(Allocator):
    """An allocator that makes one server round trip per id (auto-increment, Redis INCR).

    Every waiting request gets its own call in flight (``request()``); replies feed
    ``received(id)``; a timeout calls ``request()`` again.
    """

    def __init__(self, id: str, **options: Any) -> None:
        super().__init__(id, **options)
        self.ready: list[int] = []
        self.in_flight = 0

    @abstractmethod
    def request(self) -> None:
        """Send one call for one id."""

    def take(self) -> int | None:
        if self.ready:
            return self.ready.pop(0)
        while self.in_flight < len(self.waiting):
            self.in_flight += 1
            self.request()
        return None

    def received(self, ident: int | None) -> None:
        """A call finished (``None``: it failed and is not retried)."""
        self.in_flight -= 1
        if ident is not None:
            self.ready.append(ident)
        self.serve()
