"""Anti-entropy between ``ds.sim`` nodes: push, pull or push-pull, comparing full state,
digests, or Merkle trees.

Demers et al. (1987, §1.3): anti-entropy *compares* two replicas and repairs the differences;
shipping the whole database every time is the naive way, and the paper already proposes
checksums and recent-update lists; Dynamo (DeCandia et al. 2007, §4.7) uses Merkle trees.
Here ``compare`` selects:

* ``"full"``  -- send every entry (what the seed guide calls anti-entropy, Seed check B2);
* ``"digest"`` -- send ``{key: version}``; the peer answers with only the newer entries;
* ``"merkle"`` -- descend Chapter 3's Merkle tree (:mod:`dscourse.replication.merkle`) from
  the root and exchange only the entries of differing leaves.

Every ``period_ms`` each node starts one exchange with a random peer. ``entries_sent``
counts the entries (key, version, value) shipped and ``hashes_sent`` the digests/hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..replication import merkle
from ..sim import Node, Simulation, reliable

MODES = ("push", "pull", "push-pull")
COMPARES = ("full", "digest", "merkle")

Entry = tuple[str, int, str]          # key, version, value


@dataclass(frozen=True)
class Entries:
    """Entries for the receiver; ``reply`` asks it to answer with its own (full pull/push-pull)."""

    entries: tuple[Entry, ...]
    reply: bool = False


@dataclass(frozen=True)
class Digest:
    versions: tuple[tuple[str, int], ...]
    mode: str


@dataclass(frozen=True)
class DigestReply:
    entries: tuple[Entry, ...]       # newer at the replier (pull half)
    want: tuple[str, ...]            # newer at the initiator (push half)


@dataclass(frozen=True)
class Hashes:
    level: int
    indices: tuple[int, ...]
    hashes: tuple[str, ...]
    mode: str
    initiator: str


@dataclass(frozen=True)
class LeafEntries:
    """Entries of differing leaves; ``leaves`` asks the receiver for its own entries there."""

    entries: tuple[Entry, ...]
    leaves: tuple[int, ...]
    mode: str
    initiator: str


class AntiEntropyNode(Node):
    """A replica of ``{key: (version, value)}`` running anti-entropy (module docstring)."""

    def __init__(self, node_id: str, mode: str = "push-pull", compare: str = "digest",
                 period_ms: float = 100.0, depth: int = 6) -> None:
        super().__init__(node_id)
        if mode not in MODES:
            raise allowed("mode", mode, f"one of {', '.join(MODES)}")
        if compare not in COMPARES:
            raise allowed("compare", compare, f"one of {', '.join(COMPARES)}")
        self.mode, self.compare, self.period_ms, self.depth = mode, compare, period_ms, depth
        self.data: dict[str, tuple[int, str]] = {}
        self.entries_sent = 0
        self.hashes_sent = 0

    def put(self, key: str, value: str) -> None:
        version = self.data.get(key, (0, ""))[0] + 1
        self.data[key] = (version, value)

    def on_start(self) -> None:
        self.set_timer(float(self.rng.uniform(0, self.period_ms)), "round")

    def _entries(self, keys: Any) -> tuple[Entry, ...]:
        out = tuple((k, *self.data[k]) for k in sorted(keys) if k in self.data)
        self.entries_sent += len(out)
        return out

    def merge(self, entries: tuple[Entry, ...]) -> None:
        for k, version, value in entries:
            if version > self.data.get(k, (0, ""))[0]:
                self.data[k] = (version, value)

    def _tree(self) -> merkle.MerkleTree:
        return merkle.MerkleTree.build({k: ((v,), val) for k, (v, val) in self.data.items()}, self.depth)

    def on_timer(self, name: str, payload: Any) -> None:
        peers = [p for p in self.peers if isinstance(self._sim.nodes[p], AntiEntropyNode)]
        if peers:
            peer = peers[int(self.rng.integers(len(peers)))]
            self.start(peer)
        self.set_timer(self.period_ms, "round")

    def start(self, peer: str) -> None:
        if self.compare == "full":
            if self.mode == "pull":
                self.send(peer, Entries((), reply=True))
            else:
                self.send(peer, Entries(self._entries(self.data), reply=self.mode == "push-pull"))
        elif self.compare == "digest":
            self.hashes_sent += len(self.data)
            self.send(peer, Digest(tuple((k, v) for k, (v, _) in sorted(self.data.items())), self.mode))
        else:
            self.hashes_sent += 1
            self.send(peer, Hashes(0, (0,), (self._tree().root,), self.mode, self.id))

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Entries):
            self.merge(msg.entries)
            if msg.reply:
                self.send(src, Entries(self._entries(self.data)))
        elif isinstance(msg, Digest):
            theirs = dict(msg.versions)
            newer_here = [k for k, (v, _) in self.data.items() if v > theirs.get(k, 0)]
            newer_there = [k for k, v in theirs.items() if v > self.data.get(k, (0, ""))[0]]
            self.send(src, DigestReply(self._entries(newer_here) if msg.mode != "push" else (),
                                       tuple(sorted(newer_there)) if msg.mode != "pull" else ()))
        elif isinstance(msg, DigestReply):
            self.merge(msg.entries)
            if msg.want:
                self.send(src, Entries(self._entries(msg.want)))
        elif isinstance(msg, Hashes):
            tree = self._tree()
            step, idx = merkle.compare_step(tree, msg.level, msg.indices, msg.hashes)
            if step == "hashes":
                self.hashes_sent += len(idx)
                self.send(src, Hashes(msg.level + 1, idx, tuple(tree.hash(msg.level + 1, i) for i in idx),
                                      msg.mode, msg.initiator))
            elif step == "entries":
                self._send_leaves(src, idx, msg.mode, msg.initiator, ask=True)
        elif isinstance(msg, LeafEntries):
            self.merge(msg.entries)
            if msg.leaves:
                self._send_leaves(src, msg.leaves, msg.mode, msg.initiator, ask=False)

    def _send_leaves(self, dst: str, leaves: tuple[int, ...], mode: str, initiator: str, ask: bool) -> None:
        """At the differing leaves: send our entries there if the mode repairs ``dst`` (push
        repairs the peer, pull the initiator); ``ask`` for the other side's in return."""
        repairs_dst = mode == "push-pull" or (mode == "push") == (self.id == initiator)
        keys = []
        if repairs_dst:
            wanted = set(leaves)
            keys = [k for k in self.data if merkle.bucket(k, self.depth) in wanted]
        self.send(dst, LeafEntries(self._entries(keys), leaves if ask else (), mode, initiator))


def sync_cost(keys: int = 1000, diverged: int = 10, compare: str = "digest", seed: int = 1,
              depth: int = 8) -> dict[str, int]:
    """Two replicas that differ in ``diverged`` of ``keys`` keys: one push-pull exchange with
    ``compare``. Returns entries and hashes sent, and whether they now agree."""
    if compare not in COMPARES:
        raise allowed("compare", compare, f"one of {', '.join(COMPARES)}")
    sim = Simulation(seed=seed, network=reliable(latency=1.0))
    a = AntiEntropyNode("a", "push-pull", compare, period_ms=1e9, depth=depth)
    b = AntiEntropyNode("b", "push-pull", compare, period_ms=1e9, depth=depth)
    sim.add_node(a)
    sim.add_node(b)
    for i in range(keys):
        a.put(f"k{i}", "v0")
        b.put(f"k{i}", "v0")
    rng = sim.rng("workload")
    for i in rng.choice(keys, size=diverged, replace=False).tolist():
        (a if i % 2 else b).put(f"k{i}", "v1")
    sim.run(until=0)
    a.start("b")
    sim.run(until=1000)
    return {"entries": a.entries_sent + b.entries_sent, "hashes": a.hashes_sent + b.hashes_sent,
            "agree": int(a.data == b.data)}


def convergence(n: int = 32, mode: str = "push-pull", compare: str = "digest", seed: int = 1,
                period_ms: float = 100.0, horizon_ms: float = 5000.0) -> float | None:
    """One update at one node of ``n``: virtual ms until every node has it (None if never)."""
    sim = Simulation(seed=seed, network=reliable(latency=1.0))
    nodes = [AntiEntropyNode(f"n{i}", mode, compare, period_ms) for i in range(n)]
    for x in nodes:
        sim.add_node(x)
    nodes[0].put("x", "new")
    ok = sim.run_until(lambda: all("x" in x.data for x in nodes), timeout=horizon_ms)
    return sim.now if ok else None
