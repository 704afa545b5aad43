"""A cluster-aware client, like redis-py's ``RedisCluster``: a slot cache, MOVED and ASK.

Redis Cluster Specification, "MOVED Redirection" (update the slot cache, retry at the new
owner) and "ASK redirection" (retry once at the named node, preceded by ASKING, and do *not*
update the cache: the slot is still being migrated). Operations run one at a time; each is
recorded in a :class:`dscourse.history.Recorder` (``put`` with value ``(key, value)``, ``get``
with value ``key`` and output the value, ``""`` when absent: the form ``lin.kv()`` checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..history import Recorder
from ..sim import Node
from .messages import Command, Reply
from .slots import key_slot

MAX_REDIRECTS = 16


class ClusterClient(Node):
    """Runs ``ops`` (``("set", key, value)`` / ``("get", key)``) every ``gap_ms``; ``slots``
    is the initial cache (``CLUSTER SLOTS``): ``{slot: node}``."""

    def __init__(self, node_id: str, slots: dict[int, str], ops: Sequence[tuple], history: Recorder,
                 gap_ms: float = 10.0, timeout_ms: float = 500.0, start_ms: float = 0.0) -> None:
        super().__init__(node_id)
        self.cache = dict(slots)
        self.seeds = sorted(set(slots.values()))
        self.ops = list(ops)
        self.history, self.gap_ms, self.timeout_ms, self.start_ms = history, gap_ms, timeout_ms, start_ms
        self.req = 0
        self.cur: tuple | None = None
        self.redirects = {"moved": 0, "ask": 0}
        self.hops = 0

    def submit(self, *ops: tuple) -> None:
        """Queue more operations (they start after the current one)."""
        self.ops += list(ops)
        if self.cur is None:
            self.set_timer(0, "next")

    def on_start(self) -> None:
        self.set_timer(self.start_ms, "next")

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "next" and self.cur is None and self.ops:
            op = self.ops.pop(0)
            self.cur = op
            f = "put" if op[0] == "set" else "get"
            self.history.invoke(self.id, f, (op[1], op[2]) if f == "put" else op[1])
            self.hops = 0
            node = self.cache.get(key_slot(op[1]))
            if node is None:       # unknown after a timeout: ask any node, it answers MOVED
                node = self.seeds[int(self.rng.integers(len(self.seeds)))]
            self._send(node, asking=False)
        elif name == "timeout" and self.cur is not None and payload == self.req:
            self.cache.pop(key_slot(self.cur[1]), None)   # like redis-py: refresh the slot map
            self._finish("info" if self.cur[0] == "set" else "fail", None)

    def _send(self, node: str | None, asking: bool) -> None:
        assert self.cur is not None
        self.req += 1
        op = self.cur
        if node is None:
            self._finish("fail", None)
            return
        self.send(node, Command(self.req, op[0], op[1], op[2] if op[0] == "set" else None, asking))
        self.set_timer(self.timeout_ms, "timeout", self.req)

    def _finish(self, kind: str, value: Any) -> None:
        assert self.cur is not None
        op = self.cur
        if kind == "ok":
            self.history.ok(self.id, None if op[0] == "set" else ("" if value is None else value))
        elif kind == "fail":
            self.history.fail(self.id)
        else:
            self.history.info(self.id)
        self.cur = None
        self.set_timer(self.gap_ms, "next")

    def on_message(self, src: str, msg: Any) -> None:
        if not isinstance(msg, Reply) or self.cur is None or msg.req != self.req:
            return
        self.hops += 1
        if msg.kind in ("moved", "ask") and self.hops > MAX_REDIRECTS:
            self._finish("fail", None)
        elif msg.kind == "moved":
            self.redirects["moved"] += 1
            self.cache[msg.slot] = msg.node
            self._send(msg.node, asking=False)
        elif msg.kind == "ask":
            self.redirects["ask"] += 1
            self._send(msg.node, asking=True)
        elif msg.kind in ("ok", "value"):
            self._finish("ok", msg.value)
        else:
            self._finish("fail", None)
