"""Trusted harnesses for Chapter 3's exercise E3.3 (repair), run by the grader.

(E3.2's harnesses run student *nodes*, so they live beside the sandbox, in
:mod:`dscourse.grading.ch03`.)

The student writes four *rules* as plain functions of data; the harness plugs them into the
library's replicated store (:class:`~.client.KVClient` and :class:`~.replica.Replica`, through
their ``read_repair_plan``, ``handoff_plan``, ``merkle_tree`` and ``merkle_compare`` hooks),
runs :func:`~.experiments.repair_race` and :func:`~.experiments.merkle_sync_cost`, and
returns a :class:`~dscourse.checkers.trial.Trial`. Only plain data crosses: every result is
type-checked exactly before the store uses it.

* ``read_repair(replies) -> ((ts, value), stale)`` -- read repair (Dynamo §5).
* ``hint_actions(hints, now_ms, window_ms) -> (replay, drop)`` -- hinted handoff with a hint
  window (Dynamo §4.6; Cassandra's ``max_hint_window``).
* ``merkle_tree(entries, depth) -> levels`` and ``merkle_compare(tree, level, indices,
  hashes) -> (kind, nodes)`` -- Merkle anti-entropy (Merkle 1987; Dynamo §4.7).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..checkers.trial import Trial, judged
from ..sim.rng import stream
from . import experiments as ex
from .client import KVClient, newest_and_stale
from .merkle import MerkleTree, bucket, compare_step
from .messages import ZERO
from .replica import Replica, plan_handoff

Fn = Callable[..., Any]
#: Virtual ms after the heal by which every home replica must hold the newest version.
CONVERGE_MS = {"read repair": 600.0, "hinted handoff": 100.0, "short window": 600.0}
#: Merkle sync of 1% divergence must send less than this fraction of a full-state sync.
MAX_SYNC_RATIO = 0.10


class _Bad(Exception):
    """A result the store cannot use, or a violated property: ends the trial."""


def _text(x: Any, limit: int = 240) -> str:
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


def _run(trial: Trial, body: Callable[[], None]) -> Trial:
    return judged(trial, body, _Bad)


# -- the reference rules (used to judge answers case by case) ---------------------------------
def reference_read_repair(replies: dict[str, tuple]) -> tuple[tuple, list[str]]:
    """The newest ``(ts, value)`` and the replicas that answered with an older one."""
    return newest_and_stale(replies)


def reference_hint_actions(hints: dict[int, tuple], now_ms: float, window_ms: float) -> tuple[list, list]:
    """Replay every hint at most ``window_ms`` old; drop the older ones."""
    return plan_handoff(hints, now_ms, window_ms)


def reference_merkle_compare(tree: list, level: int, indices: list, hashes: list) -> tuple[str, list]:
    """One step of the Merkle descent on a tree given as a list of levels."""
    t = MerkleTree(len(tree) - 1, tuple(tuple(lv) for lv in tree))
    kind, nodes = compare_step(t, level, tuple(indices), tuple(hashes))
    return kind, list(nodes)


# -- checking what the student's functions return -------------------------------------------
def _pair(x: Any) -> bool:
    return type(x) in (tuple, list) and len(x) == 2


def _check_read_repair(result: Any, replies: dict[str, tuple]) -> tuple[tuple, set[str]]:
    if not _pair(result) or not _pair(result[0]) or type(result[1]) not in (list, tuple, set, frozenset):
        raise _Bad(f"read_repair({_text(replies)}) returned {_text(result)}: expected "
                   "((ts, value), [replicas to repair])")
    (ts, value), stale = result
    if type(ts) not in (tuple, list) or type(value) is not str or not all(type(r) is str for r in stale):
        raise _Bad(f"read_repair({_text(replies)}) returned {_text(result)}: ts must be a tuple, "
                   "value a str, and the replicas to repair str ids")
    return (tuple(ts), value), set(stale)


def _check_hint_actions(result: Any, hints: dict[int, tuple]) -> tuple[list[int], set[int]]:
    if not _pair(result) or not all(type(part) in (list, tuple, set, frozenset) for part in result):
        raise _Bad(f"hint_actions returned {_text(result)}: expected (replay, drop), two lists of hint ids")
    replay, drop = (list(part) for part in result)
    if not all(type(h) is int and h in hints for h in replay + drop):
        raise _Bad(f"hint_actions returned {_text(result)}: only ids of the hints given may appear")
    if set(replay) & set(drop) or set(replay) | set(drop) != set(hints) or len(set(replay)) != len(replay):
        raise _Bad(f"hint_actions returned {_text(result)} for hints {sorted(hints)}: every hint "
                   "must be in exactly one of replay and drop")
    return sorted(replay), set(drop)


def _check_tree(result: Any, depth: int) -> tuple[tuple[str, ...], ...]:
    if type(result) not in (list, tuple) or len(result) != depth + 1:
        raise _Bad(f"merkle_tree(..., depth={depth}) must return a list of {depth + 1} levels, "
                   f"not {_text(result, 80)}")
    for i, level in enumerate(result):
        if type(level) not in (list, tuple) or len(level) != 1 << i or not all(type(h) is str for h in level):
            raise _Bad(f"merkle_tree(..., depth={depth}): level {i} must be a list of {1 << i} str hashes")
    return tuple(tuple(level) for level in result)


def _check_compare(result: Any, level: int, depth: int) -> tuple[str, tuple[int, ...]]:
    if not _pair(result) or result[0] not in ("same", "hashes", "entries") \
            or type(result[1]) not in (list, tuple, set, frozenset):
        raise _Bad(f"merkle_compare returned {_text(result)}: expected ('same', []), "
                   "('hashes', [child indices]) or ('entries', [leaf indices])")
    kind, nodes = result[0], result[1]
    target = level + 1 if kind == "hashes" else level
    if (kind == "hashes" and level >= depth) or (kind == "entries" and level != depth):
        raise _Bad(f"merkle_compare returned {kind!r} at level {level} of a depth-{depth} tree")
    if not all(type(i) is int and 0 <= i < 1 << target for i in nodes):
        raise _Bad(f"merkle_compare returned {_text(result)}: indices must be ints of nodes at level {target}")
    return kind, tuple(sorted(set(nodes)))


# -- the store with the student's rules plugged in ----------------------------------------------
def _client_factory(read_repair: Fn) -> Callable:
    class StudentClient(KVClient):
        def read_repair_plan(self, key: str, replies: dict[str, tuple]) -> tuple[tuple, list[str]]:
            plain = {r: (tuple(ts), v) for r, (ts, v) in replies.items()}
            best, stale = _check_read_repair(read_repair(dict(plain)), plain)
            newest = reference_read_repair(plain)[0]
            if best != newest:
                raise _Bad(f"at {self.now:.1f} ms a read of {key} got {_text(plain)} and returned "
                           f"{best}, not the newest version {newest}")
            if not stale <= set(plain):
                raise _Bad(f"read_repair asked to repair {sorted(stale - set(plain))}, which did not reply")
            return best, sorted(stale)

    def make(cid: str, replicas: list, config: dict, workload: dict, record: Fn) -> KVClient:
        node = StudentClient(cid, replicas, config, None, workload)
        node.__dict__["record"] = record
        return node

    return make


def _replica_factory(hint_actions: Fn | None = None, merkle_tree: Fn | None = None,
                     merkle_compare: Fn | None = None, made: list | None = None) -> Callable:
    class StudentReplica(Replica):
        def handoff_plan(self, hints: dict[int, tuple], now: float, window: float) -> tuple[list, list]:
            if hint_actions is None:
                return super().handoff_plan(hints, now, window)
            plain = {h: tuple(hint) for h, hint in hints.items()}
            replay, drop = _check_hint_actions(hint_actions(dict(plain), now, window), plain)
            for h, hint in sorted(plain.items()):
                age = now - hint[4]
                if age > window and h not in drop:
                    raise _Bad(f"at {now:.1f} ms {self.id} kept hint {h} for {hint[0]}, {age:.1f} ms "
                               f"old: older than the window ({window:g} ms)")
                if age <= window and h in drop:
                    raise _Bad(f"at {now:.1f} ms {self.id} dropped hint {h} for {hint[0]}, only "
                               f"{age:.1f} ms old (window {window:g} ms)")
            return replay, sorted(drop)

        def merkle_tree(self, entries: dict[str, tuple]) -> MerkleTree:
            if merkle_tree is None:
                return super().merkle_tree(entries)
            depth = self.config.merkle_depth
            plain = {k: (tuple(ts), v) for k, (ts, v) in entries.items()}
            return MerkleTree(depth, _check_tree(merkle_tree(plain, depth), depth))

        def merkle_compare(self, tree: MerkleTree, level: int, indices: tuple, hashes: tuple) -> tuple:
            if merkle_compare is None:
                return super().merkle_compare(tree, level, indices, hashes)
            result = merkle_compare([list(lv) for lv in tree.levels], level, list(indices), list(hashes))
            return _check_compare(result, level, tree.depth)

    def make(node_id: str, ring: Any, config: Any) -> Replica:
        node = StudentReplica(node_id, ring, config)
        if made is not None:
            made.append(node)
        return node

    return make


# -- rule trials --------------------------------------------------------------------------------
def _version(rng: Any) -> tuple:
    if rng.random() < 0.15:
        return (ZERO, "")
    counter = int(rng.integers(1, 6)) if rng.random() < 0.6 else round(float(rng.uniform(1, 6)), 3)
    writer = f"c{int(rng.integers(3))}"
    return ((counter, writer), f"{writer}.{counter}")


def read_repair_rule_trial(read_repair: Fn, seed: int, n: int = 80) -> Trial:
    """``read_repair`` on ``n`` random replies (ties, floats, never-written keys) against the
    reference: the newest version and exactly the replicas that answered an older one."""
    trial = Trial(seed)
    rng = stream(seed, "E3.3/read repair")

    def body() -> None:
        for _ in range(n):
            pool = [_version(rng) for _ in range(int(rng.integers(1, 4)))]
            names = [f"r{i}" for i in range(6)]
            k = int(rng.integers(1, 6))
            chosen = sorted(rng.choice(6, size=k, replace=False).tolist())
            replies = {names[i]: pool[int(rng.integers(len(pool)))] for i in chosen}
            best, stale = _check_read_repair(read_repair(dict(replies)), replies)
            want, want_stale = reference_read_repair(replies)
            if best != want or stale != set(want_stale):
                raise _Bad(f"read_repair({replies}) returned newest {best} and repairs "
                           f"{sorted(stale)}; expected {want} and {want_stale}")

    return _run(trial, body)


def hint_rule_trial(hint_actions: Fn, seed: int, n: int = 80) -> Trial:
    """``hint_actions`` on ``n`` random hint sets, with hints exactly ``window`` old (kept)."""
    trial = Trial(seed)
    rng = stream(seed, "E3.3/hints")

    def body() -> None:
        for _ in range(n):
            window = float(rng.choice([20, 60, 250, 10_000]))
            now = float(int(rng.integers(0, 3000)) + window * 2)
            hints = {}
            for _ in range(int(rng.integers(0, 7))):
                h = int(rng.integers(0, 1000))
                age = float(window if rng.random() < 0.2 else int(rng.integers(0, int(2 * window) + 1)))
                home, key = f"r{int(rng.integers(5))}", f"k{int(rng.integers(30))}"
                hints[h] = (home, key, (now - age - 1.0, "c0"), f"c0.{h}", now - age)
            result = hint_actions(dict(hints), now, window)
            replay, drop = _check_hint_actions(result, hints)
            want_replay, want_drop = reference_hint_actions(hints, now, window)
            if replay != want_replay or drop != set(want_drop):
                ages = {h: now - hint[4] for h, hint in sorted(hints.items())}
                raise _Bad(f"hint_actions(hints aged {ages} ms, window {window:g} ms) returned replay "
                           f"{replay}, drop {sorted(drop)}; expected {want_replay} and {want_drop}")

    return _run(trial, body)


def _entries(rng: Any, count: int) -> dict[str, tuple]:
    out = {}
    for i in rng.choice(200, size=count, replace=False).tolist():
        c = int(rng.integers(1, 9))
        out[f"k{i}"] = ((c, f"c{int(rng.integers(3))}"), f"v{i}.{c}")
    return out


def merkle_tree_trial(merkle_tree: Fn, seed: int, n: int = 12) -> Trial:
    """``merkle_tree`` has the right shape, does not depend on the order of the entries, and
    changing, adding or removing one entry changes exactly the hashes on its leaf's path."""
    trial = Trial(seed)
    rng = stream(seed, "E3.3/merkle tree")

    def body() -> None:
        for _ in range(n):
            depth = int(rng.integers(0, 6))
            entries = _entries(rng, int(rng.integers(1, 40)))
            tree = _check_tree(merkle_tree(dict(entries), depth), depth)
            again = _check_tree(merkle_tree(dict(reversed(list(entries.items()))), depth), depth)
            if again != tree:
                raise _Bad(f"merkle_tree gave two trees for the same {len(entries)} entries given in "
                           "another order")
            changed = dict(entries)
            key = sorted(entries)[int(rng.integers(len(entries)))]
            how = ["value", "timestamp", "removed", "added"][int(rng.integers(4))]
            if how == "value":
                changed[key] = (entries[key][0], entries[key][1] + "!")
            elif how == "timestamp":
                changed[key] = ((entries[key][0][0] + 1, entries[key][0][1]), entries[key][1])
            elif how == "removed":
                del changed[key]
            else:
                key = "new" + key
                changed[key] = ((1, "c0"), "fresh")
            other = _check_tree(merkle_tree(dict(changed), depth), depth)
            leaf = bucket(key, depth)
            for level in range(depth + 1):
                want = {leaf >> (depth - level)}
                got = {i for i, (a, b) in enumerate(zip(tree[level], other[level], strict=True)) if a != b}
                if got != want:
                    raise _Bad(f"with {key!r} {how} (leaf bucket {leaf} of a depth-{depth} tree), the "
                               f"hashes at level {level} changed at nodes {sorted(got)}; expected "
                               f"exactly {sorted(want)}")

    return _run(trial, body)


def merkle_compare_trial(merkle_compare: Fn, seed: int, n: int = 60) -> Trial:
    """``merkle_compare`` on random steps of a descent between two diverged trees."""
    trial = Trial(seed)
    rng = stream(seed, "E3.3/merkle compare")

    def body() -> None:
        for _ in range(n):
            depth = int(rng.integers(1, 6))
            mine = _entries(rng, int(rng.integers(5, 60)))
            theirs = dict(mine)
            for key in sorted(mine)[: int(rng.integers(0, 4))]:
                theirs[key] = ((99, "c9"), "newer")
            a, b = MerkleTree.build(mine, depth), MerkleTree.build(theirs, depth)
            level = int(rng.integers(0, depth + 1))
            width = 1 << level
            indices = sorted(rng.choice(width, size=int(rng.integers(1, width + 1)), replace=False).tolist())
            hashes = [b.hash(level, i) for i in indices]
            tree = [list(lv) for lv in a.levels]
            got = _check_compare(merkle_compare(tree, level, list(indices), list(hashes)), level, depth)
            kind, nodes = reference_merkle_compare(tree, level, indices, hashes)
            if got != (kind, tuple(nodes)):
                differ = list(a.differing(level, tuple(indices), tuple(hashes)))
                raise _Bad(f"at level {level} of a depth-{depth} tree, with nodes {differ} of "
                           f"{indices} differing, merkle_compare returned {got[0]!r}, {list(got[1])}; "
                           f"expected {kind!r}, {nodes}")

    return _run(trial, body)


# -- the store: convergence after a partition heals ------------------------------------------------
def _converged(trial: Trial, race: ex.RaceResult, what: str, within: float) -> None:
    if race.converged_ms is None or race.converged_ms > within:
        left = race.divergence[-1]
        raise _Bad(f"{what}: {left} (key, home replica) pairs still lacked the newest version "
                   f"{within:g} ms after the partition healed (started with {race.divergence[0]})")
    trial.facts.update(converged_ms=race.converged_ms, bytes=race.total_bytes,
                       hints_expired=race.hints_expired)


def read_repair_trial(read_repair: Fn, seed: int) -> Trial:
    """Replica ``r0`` misses 30 writes; after the heal a client reads every key once, with
    read repair only: every read returns the newest version among its replies, and all
    replicas agree within ``CONVERGE_MS["read repair"]``."""
    trial = Trial(seed)
    within = CONVERGE_MS["read repair"]

    def body() -> None:
        race = ex.repair_race("read repair", seed=seed, reads="sweep", until=300.0 + within,
                              client=_client_factory(read_repair))
        _converged(trial, race, "read repair after reading every key", within)

    return _run(trial, body)


def handoff_trial(hint_actions: Fn, seed: int) -> Trial:
    """Sloppy quorums keep hints for ``r0`` during the partition (window 10 s); after the
    heal, hinted handoff alone makes all replicas agree within ``CONVERGE_MS["hinted
    handoff"]``, and every hint has been delivered."""
    trial = Trial(seed)
    within = CONVERGE_MS["hinted handoff"]
    made: list[Replica] = []

    def body() -> None:
        race = ex.repair_race("hinted handoff", seed=seed, reads="none", until=300.0 + within,
                              replica=_replica_factory(hint_actions, made=made))
        _converged(trial, race, "hinted handoff", within)
        stored = sum(r.stats["hinted"] for r in made)
        left = sum(len(r.hints) for r in made)
        if not stored or left or race.hints_expired:
            raise _Bad(f"of {stored} hints, {race.hints_expired} were dropped and {left} were still "
                       f"held after the heal (the window was 10 s: all should be handed off)")

    return _run(trial, body)


def window_trial(hint_actions: Fn, merkle_tree: Fn, merkle_compare: Fn, seed: int) -> Trial:
    """A 60 ms hint window, shorter than the partition: at every handoff round, hints older
    than the window are dropped and the others replayed; Merkle anti-entropy (every 40 ms,
    depth 4) still makes all replicas agree within ``CONVERGE_MS["short window"]``."""
    trial = Trial(seed)
    within = CONVERGE_MS["short window"]

    def body() -> None:
        race = ex.repair_race("hinted handoff, short hint window", seed=seed, reads="none",
                              until=300.0 + within, anti_entropy_ms=40.0, merkle_depth=4,
                              replica=_replica_factory(hint_actions, merkle_tree, merkle_compare))
        if not race.hints_expired:
            raise _Bad("no hint was dropped, although the partition lasted longer than the window")
        _converged(trial, race, "anti-entropy after the hints expired", within)

    return _run(trial, body)


def merkle_cost_trial(merkle_tree: Fn, merkle_compare: Fn, seed: int, keys: int = 1000,
                      diverged: int = 10, depth: int = 10) -> Trial:
    """Two replicas of ``keys`` keys, ``diverged`` of them newer on one: one anti-entropy
    exchange with the student's tree and comparison (depth ``depth``, about one key per leaf)
    repairs every diverged key and sends less than ``MAX_SYNC_RATIO`` of the bytes of a
    full-state sync (the reference sends 5-7% at 1% divergence)."""
    trial = Trial(seed)

    def body() -> None:
        cost = ex.merkle_sync_cost(keys, diverged, depth=depth, seed=seed,
                                   replica=_replica_factory(None, merkle_tree, merkle_compare))
        trial.facts.update(merkle_bytes=cost.merkle_bytes, full_bytes=cost.full_bytes)
        if cost.repaired != diverged:
            raise _Bad(f"one anti-entropy exchange repaired {cost.repaired} of the {diverged} "
                       f"diverged keys (of {keys})")
        if cost.ratio >= MAX_SYNC_RATIO:
            raise _Bad(f"the Merkle sync sent {cost.merkle_bytes} bytes, {cost.ratio:.0%} of a full "
                       f"sync ({cost.full_bytes} bytes); it should stay under {MAX_SYNC_RATIO:.0%}")

    return _run(trial, body)


__all__ = ["CONVERGE_MS", "MAX_SYNC_RATIO",
           "handoff_trial", "hint_rule_trial", "merkle_compare_trial", "merkle_cost_trial",
           "merkle_tree_trial", "read_repair_rule_trial", "read_repair_trial",
           "reference_hint_actions", "reference_merkle_compare", "reference_read_repair",
           "window_trial"]
