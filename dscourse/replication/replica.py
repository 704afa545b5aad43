"""A storage replica: versioned key-value data, hints for others, Merkle anti-entropy.

The replica is passive for reads and writes (clients coordinate, as in ABD and as in
Dynamo's client-driven coordination); it keeps, for every key, the version with the
highest timestamp it has seen. Its data and hints live in ``stable`` (on disk), so a
crash loses neither. Repair mechanisms (all optional, see :mod:`.config`):

* **hinted handoff** (Dynamo §4.6; Cassandra "Hints"): a write addressed to a fallback
  with ``hint_for=home`` is kept apart and retried to the home replica every
  ``handoff_ms`` until acknowledged; hints older than ``hint_window_ms`` are dropped;
* **anti-entropy** (Dynamo §4.7; Cassandra "Repair"): every ``anti_entropy_ms`` the replica
  starts a Merkle-tree comparison, over the keys both hold, with a random peer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..sim import Node
from .config import Config
from .merkle import MerkleTree, bucket, compare_step
from .messages import ZERO, Handoff, HandoffAck, Read, ReadReply, Repair, TreeEntries, TreeHashes, Write, WriteAck
from .ring import Ring

_MESSAGES = {cls.__name__: cls for cls in (Read, Write, Repair)}
_KNOWN = frozenset({Read, Write, Repair, Handoff, HandoffAck, TreeHashes, TreeEntries})


def _foreign(msg: Any) -> Any:
    """A client message of another class with the same name and fields (a student's own
    dataclass, or the ``Record(name, fields)`` the grading sandbox's wire makes of it) as
    this module's dataclass; ``None`` for anything else."""
    if type(msg).__name__ == "Record" and hasattr(msg, "fields"):
        name, fields = msg.name, dict(msg.fields)
    elif dataclasses.is_dataclass(msg) and not isinstance(msg, type):
        name = type(msg).__name__
        fields = {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg)}
    else:
        return None
    cls = _MESSAGES.get(name)
    if cls is None:
        return None
    try:
        if "ts" in fields:
            fields["ts"] = tuple(fields["ts"])
        return cls(**fields)
    except TypeError:
        return None


def plan_handoff(hints: dict[int, tuple], now: float, window: float) -> tuple[list[int], list[int]]:
    """Replay (sorted ids) every hint ``(home, key, ts, value, created)`` at most ``window``
    ms old; drop the older ones."""
    drop = sorted(h for h, hint in hints.items() if now - hint[4] > window)
    return sorted(set(hints) - set(drop)), drop


class Replica(Node):
    """One replica. ``data`` maps key -> ``(ts, value)``; ``hints`` maps hint id ->
    ``(home, key, ts, value, created_ms)``. Counters in ``stats``: hints stored, handed off
    and expired; keys repaired by anti-entropy; anti-entropy rounds."""

    def __init__(self, node_id: str, ring: Ring, config: Config) -> None:
        super().__init__(node_id)
        self.ring, self.config = ring, config
        self.stable.setdefault("data", {})
        self.stable.setdefault("hints", {})
        self.stable.setdefault("stats", {"hinted": 0, "handed_off": 0, "expired": 0,
                                         "ae_repaired": 0, "ae_rounds": 0})
        self.stable.setdefault("next_hint", 0)
        self._trees: dict[str, tuple[int, MerkleTree]] = {}
        self._version = 0

    @property
    def data(self) -> dict[str, tuple]:
        return self.stable["data"]

    @property
    def hints(self) -> dict[int, tuple]:
        return self.stable["hints"]

    @property
    def stats(self) -> dict[str, int]:
        return self.stable["stats"]

    def get(self, key: str) -> tuple:
        """``(ts, value)``; ``(ZERO, "")`` for a key never written."""
        return self.data.get(key, (ZERO, ""))

    def store(self, key: str, ts: tuple, value: str) -> bool:
        """Keep ``(ts, value)`` if it is newer than what we have; True if it was."""
        if ts > self.get(key)[0]:
            self.data[key] = (ts, value)
            self._version += 1
            return True
        return False

    # -- lifecycle ------------------------------------------------------------------------
    def on_start(self) -> None:
        self.annotate(role="replica")
        cfg = self.config
        if cfg.hinted_handoff and cfg.sloppy:
            self.set_timer(cfg.handoff_ms, "handoff")
        if cfg.anti_entropy_ms is not None:
            self.set_timer(cfg.anti_entropy_ms * (0.5 + self.rng.random()), "anti_entropy")

    def on_timer(self, name: str, payload: Any) -> None:
        cfg = self.config
        if name == "handoff":
            self._handoff()
            self.set_timer(cfg.handoff_ms, "handoff")
        elif name == "anti_entropy":
            self._start_anti_entropy()
            assert cfg.anti_entropy_ms is not None  # on_start sets this timer only when it is set
            self.set_timer(cfg.anti_entropy_ms, "anti_entropy")

    # -- reads and writes ------------------------------------------------------------------
    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) not in _KNOWN:
            msg = _foreign(msg)                  # e.g. an exercise's own message classes
        if isinstance(msg, Read):
            ts, value = self.get(msg.key)
            self.send(src, ReadReply(msg.key, msg.op, ts, value))
        elif isinstance(msg, Write):
            if msg.hint_for is not None and msg.hint_for != self.id:
                self._keep_hint(msg)
            else:
                self.store(msg.key, msg.ts, msg.value)
            self.send(src, WriteAck(msg.key, msg.op))
        elif isinstance(msg, Repair):
            self.store(msg.key, msg.ts, msg.value)
        elif isinstance(msg, Handoff):
            self.store(msg.key, msg.ts, msg.value)
            self.send(src, HandoffAck(msg.hint))
        elif isinstance(msg, HandoffAck):
            if self.hints.pop(msg.hint, None) is not None:
                self.stats["handed_off"] += 1
        elif isinstance(msg, TreeHashes):
            self._on_hashes(src, msg)
        elif isinstance(msg, TreeEntries):
            self._on_entries(src, msg)

    # -- hinted handoff ----------------------------------------------------------------------
    def _keep_hint(self, msg: Write) -> None:
        if not self.config.hinted_handoff:
            return
        hint = self.stable["next_hint"]
        self.stable["next_hint"] = hint + 1
        self.hints[hint] = (msg.hint_for, msg.key, msg.ts, msg.value, self.now)
        self.stats["hinted"] += 1

    def handoff_plan(self, hints: dict[int, tuple], now: float, window: float) -> tuple[list[int], list[int]]:
        """Hinted handoff's decision (Dynamo §4.6; Cassandra's ``max_hint_window``): the ids
        of the hints to replay to their home replica now, and of those to drop because they
        are older than the window (``now - created > window``). Override to change it."""
        return plan_handoff(hints, now, window)

    def _handoff(self) -> None:
        if not self.hints:
            return
        replay, drop = self.handoff_plan(dict(self.hints), self.now, self.config.hint_window_ms)
        for hint in drop:
            if self.hints.pop(hint, None) is not None:
                self.stats["expired"] += 1
        for hint in replay:
            home, key, ts, value, _created = self.hints[hint]
            self.send(home, Handoff(hint, key, ts, value))

    # -- Merkle anti-entropy -------------------------------------------------------------------
    def _shared(self, peer: str) -> dict[str, tuple]:
        n = self.config.n
        return {k: v for k, v in self.data.items() if peer in self.ring.home(k, n)}

    def _tree(self, peer: str) -> MerkleTree:
        cached = self._trees.get(peer)
        if cached is None or cached[0] != self._version:
            cached = (self._version, self.merkle_tree(self._shared(peer)))
            self._trees[peer] = cached
        return cached[1]

    def _start_anti_entropy(self) -> None:
        peers = [p for p in self.ring.replicas if p != self.id]
        if not peers:
            return
        peer = peers[int(self.rng.integers(len(peers)))]
        self.stats["ae_rounds"] += 1
        self.send(peer, TreeHashes(0, (0,), (self._tree(peer).root,)))

    def merkle_tree(self, entries: dict[str, tuple]) -> MerkleTree:
        """The Merkle tree over ``{key: (ts, value)}`` (override to change it)."""
        return MerkleTree.build(entries, self.config.merkle_depth)

    def merkle_compare(self, tree: MerkleTree, level: int, indices: tuple[int, ...],
                       hashes: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
        """One step of the descent (Dynamo §4.7), given the peer's ``hashes`` of the nodes
        ``indices`` at ``level``: ``("same", ())`` when all match, ``("hashes", children)``
        to compare the children of those that differ, ``("entries", leaves)`` to exchange
        the entries of differing leaves. Override to change it."""
        return compare_step(tree, level, indices, hashes)

    def _on_hashes(self, src: str, msg: TreeHashes) -> None:
        tree = self._tree(src)
        kind, nodes = self.merkle_compare(tree, msg.level, msg.indices, msg.hashes)
        if kind == "entries":
            self._send_entries(src, nodes, reply=True)
        elif kind == "hashes":
            self.send(src, TreeHashes(msg.level + 1, nodes,
                                      tuple(tree.hash(msg.level + 1, i) for i in nodes)))

    def _send_entries(self, dst: str, buckets: tuple[int, ...], reply: bool,
                      theirs: dict[str, tuple] | None = None) -> None:
        """Send my entries of ``buckets``; when answering, only those the peer lacks."""
        wanted, depth = set(buckets), self.config.merkle_depth
        entries = tuple((k, ts, v) for k, (ts, v) in sorted(self._shared(dst).items())
                        if bucket(k, depth) in wanted
                        and (theirs is None or (ts, v) != theirs.get(k)))
        if entries or reply:
            self.send(dst, TreeEntries(buckets, entries, reply))

    def _on_entries(self, src: str, msg: TreeEntries) -> None:
        theirs = {}
        for key, ts, value in msg.entries:
            theirs[key] = (tuple(ts), value)
            if self.store(key, tuple(ts), value):
                self.stats["ae_repaired"] += 1
        if msg.reply:
            self._send_entries(src, msg.buckets, reply=False, theirs=theirs)
