"""Trusted harnesses for the exercises of Chapters 7 and 8 (E7.1-E7.4, E8.1-E8.4).

Each exercise asks for one rule of ZooKeeper as a plain function of data; the harness plugs
it into the library's server (a subclass that calls it where ZooKeeper applies the rule),
runs the conformance cases (:mod:`.conformance`) or the stale-read schedule, and returns a
:class:`~dscourse.checkers.trial.Trial`. The student's function is only called with plain
data (lists, dicts, str, int, bool) and its results are checked before use, so it can be a
local function or the batch grader's sandbox proxy.

* E7.1 ``check_write(nodes, op, session) -> result`` -- the leader's request check
  (``PrepRequestProcessor``): errors, versions, sequential names, ephemeral rules.
* E7.2 ``fire_watches(triggers, data_watches, child_watches) -> (events, data, child)`` --
  one-shot watch triggering (``WatchManager.triggerWatch``).
* E7.3 ``plan(use_sync) -> list of steps`` -- a two-client schedule whose history has a stale
  read without ``sync`` and is linearizable with it.
* E7.4 ``digest_id(credential) -> str`` and ``permitted(kind, path, acls, ids) -> bool`` -- the
  digest provider's identity and ``checkACL`` with the node each operation checks, plugged into
  every server (the ``acl_`` conformance cases), plus a random table of permission questions.
* E8.1 ``better_vote(new, cur) -> bool`` -- FastLeaderElection's vote order
  (``totalOrderPredicate``), plugged into every server's election.
* E8.2 ``commit_ready(outstanding, voters) -> zxids`` and ``route(event, learners) -> packets``
  -- the leader's quorum-ACK commit rule and who gets PROPOSAL, COMMIT or INFORM;
  :func:`observer_scaling` draws what the rules do to writes and reads when servers are added
  in a second datacenter as followers or as observers (:mod:`.datacenters`).
* E8.3 ``sync_decision(peer, zxids, snap_zxid) -> [kind, zxid]`` -- the leader's DIFF / TRUNC /
  SNAP choice when a learner joins (``LearnerHandler.syncFollower``), plugged into every leader.
* E8.4 ``tolerated_failures(n)``, ``weighted_quorum(weights, members)`` and
  ``hierarchical_quorum(groups, weights, members)`` -- ZooKeeper's quorum verifiers
  (:mod:`.quorums`), checked on every subset of small systems.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..checkers import linearizability as lin
from ..checkers.trial import Trial
from ..history import Recorder
from . import acl, conformance, datacenters
from .datatree import CheckVersionTxn, CreateTxn, DataTree, DeleteTxn, SetDataTxn, prep
from .ensemble import ensemble
from .errors import EXCEPTIONS, ZookeeperError
from .experiments import lagging_reader
from .server import ZKOptions, ZKServer

Fn = Callable[..., Any]

# The cases each exercise is graded on (all of them for E7.1; the watch cases for E7.2).
DATA_CASES = tuple(n for n in conformance.CASES if not n.startswith(("watch_", "acl_")) and "expir" not in n)
WATCH_CASES = tuple(n for n in conformance.CASES if n.startswith("watch_"))
ACL_CASES = tuple(n for n in conformance.CASES if n.startswith("acl_"))


class StudentError(Exception):
    """The student's function raised, or returned something of the wrong shape."""


# == E7.1: the request check ===================================================================
def plain_nodes(tree: DataTree) -> dict[str, dict[str, Any]]:
    """The tree as plain data: ``{path: {"version", "seq", "ephemeral", "children"}}``."""
    return {p: {"version": z.version, "seq": z.seq, "ephemeral": bool(z.ephemeral_owner),
                "children": sorted(z.children)} for p, z in tree.nodes.items()}


def reference_check_write(nodes: dict[str, dict[str, Any]], op: list, session: int) -> list:
    """The library's answer in the exercise's format (for tests and feedback)."""
    tree = DataTree()
    tree.nodes.clear()
    from .datatree import Znode
    for path, n in nodes.items():
        z = Znode(b"", 0, 0, 1 if n["ephemeral"] else 0)
        z.version, z.seq, z.children = n["version"], n["seq"], set(n["children"])
        tree.nodes[path] = z
    try:
        txn = prep(tree, tuple(op), session)
    except ZookeeperError as e:
        return ["error", e.code]
    if isinstance(txn, CreateTxn):
        return ["create", txn.path]
    if isinstance(txn, DeleteTxn):
        return ["delete", txn.path]
    if isinstance(txn, SetDataTxn):
        return ["setData", txn.path, txn.version]
    return ["check", txn.path]


def _to_txn(result: Any, tree: DataTree, op: tuple, session: int) -> Any:
    """Validate the student's result and build the transaction it stands for."""
    if not isinstance(result, (list, tuple)) or not result or not isinstance(result[0], str):
        raise StudentError(f"check_write returned {result!r}: expected a list like ['create', path]")
    kind = result[0]
    if kind == "error":
        code = result[1] if len(result) == 2 else None
        if code not in EXCEPTIONS or code >= 0 or code == -4:
            raise StudentError(f"check_write returned {result!r}: expected ['error', code] with a ZooKeeper code")
        raise EXCEPTIONS[code](op[1])
    if kind != {"create": "create", "delete": "delete", "setData": "setData", "check": "check"}.get(op[0]):
        raise StudentError(f"check_write({op[0]!r}) returned {result!r}: expected ['{op[0]}', ...] or ['error', code]")
    path = result[1] if len(result) > 1 else None
    if not isinstance(path, str):
        raise StudentError(f"check_write returned {result!r}: expected a path string second")
    if kind == "create":
        parent_path = path.rsplit("/", 1)[0] or "/"
        parent = tree.nodes.get(parent_path)
        if parent is None or path in tree.nodes:
            raise StudentError(f"check_write accepted create of {path!r}, which cannot be created here")
        return CreateTxn(path, op[2], session if op[3] else 0, parent.cversion + 1)
    if path not in tree.nodes:
        raise StudentError(f"check_write accepted {kind} of missing {path!r}")
    if kind == "delete":
        if tree.nodes[path].children:
            raise StudentError(f"check_write accepted deleting {path!r}, which has children")
        return DeleteTxn(path)
    if kind == "setData":
        version = result[2] if len(result) > 2 else None
        if not isinstance(version, int) or isinstance(version, bool):
            raise StudentError(f"check_write returned {result!r}: expected ['setData', path, new_version]")
        return SetDataTxn(path, op[2], version)
    return CheckVersionTxn(path, op[2])


def server_with_check(check_write: Fn) -> type[ZKServer]:
    """A server whose leader checks writes with ``check_write``."""

    class StudentPrep(ZKServer):
        def prep_request(self, tree: DataTree, op: tuple, session: int) -> Any:
            if op[0] in ("createSession", "closeSession", "setACL"):
                return prep(tree, op, session)
            plain = [x.decode("latin-1") if isinstance(x, bytes) else x for x in op]
            result = check_write(plain_nodes(tree), plain, session)  # its exceptions end the trial
            return _to_txn(result, tree, op, session)

    return StudentPrep


def _sent(backend: Any, label: str) -> int:
    return sum(1 for e in backend.ens.trace.events if e.kind == "send" and e.label == label)


def _compare(server_class: type[ZKServer], names: tuple[str, ...], seed: int, trial: Trial,
             count: str | None = None, keep_going: bool = False) -> None:
    """Run each case on the reference server and on ``server_class``; the first difference in
    the observations (or in the number of ``count`` messages the servers sent) is a violation.
    With ``keep_going`` every case runs and each failing case is listed."""
    for name in names:
        if keep_going and trial.error is None:
            one = Trial(seed)
            _compare(server_class, (name,), seed, one, count)
            for v in one.violations:
                trial.violate(v, one.at)
            if one.error is not None:
                trial.error, trial.trace = one.error, one.trace
            elif one.violations and trial.trace is None:
                trial.trace = one.trace
            trial.facts.update(one.facts)
            continue
        base = f"/case/{name}"
        reference = conformance.SimBackend(seed)
        expected = json.loads(json.dumps(conformance.run_case(name, reference, base)))
        backend = conformance.SimBackend(seed, server_class=server_class)
        try:
            got = json.loads(json.dumps(conformance.run_case(name, backend, base)))
        except StudentError as e:
            trial.violate(f"case {name}: {e}", backend.ens.now)
            trial.trace = backend.ens.trace
            return
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            trial.trace = backend.ens.trace
            return
        if got != expected:
            first = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                         min(len(got), len(expected)))
            want = expected[first] if first < len(expected) else "nothing more"
            saw = got[first] if first < len(got) else "nothing more"
            trial.violate(f"case {name}: expected {want!r}, got {saw!r}", backend.ens.now)
            trial.trace = backend.ens.trace
            return
        if count is not None and _sent(backend, count) != _sent(reference, count):
            trial.violate(f"case {name}: the servers sent {_sent(backend, count)} {count} messages, expected "
                          f"{_sent(reference, count)} (each registration fires at most once)", backend.ens.now)
            trial.trace = backend.ens.trace
            return
        trial.facts[name] = "ok"


def data_tree_trial(check_write: Fn, seed: int = 1, names: tuple[str, ...] | None = None) -> Trial:
    """E7.1: the conformance cases (default: every data case) with the student's check."""
    trial = Trial(seed)
    _compare(server_with_check(check_write), names or DATA_CASES, seed, trial)
    return trial


# == E7.2: one-shot watches ======================================================================
def server_with_watches(fire_watches: Fn) -> type[ZKServer]:
    """A server that triggers watches with ``fire_watches``."""

    class StudentWatches(ZKServer):
        def _fire(self, triggers: list[tuple[str, str]], z: int) -> None:
            data = {p: sorted(s) for p, s in sorted(self.data_watches.items()) if s}
            child = {p: sorted(s) for p, s in sorted(self.child_watches.items()) if s}
            out = fire_watches([list(t) for t in triggers], data, child)  # its exceptions end the trial
            if not (isinstance(out, (list, tuple)) and len(out) == 3 and isinstance(out[1], dict)
                    and isinstance(out[2], dict) and isinstance(out[0], (list, tuple))):
                raise StudentError(f"fire_watches returned {out!r}: expected (events, data_watches, child_watches)")
            events, data, child = out
            self.data_watches = {p: set(s) for p, s in data.items()}
            self.child_watches = {p: set(s) for p, s in child.items()}
            for ev in events:
                if not (isinstance(ev, (list, tuple)) and len(ev) == 3 and ev[1] in ("CREATED", "DELETED", "CHANGED",
                                                                                      "CHILD")):
                    raise StudentError(f"fire_watches returned event {ev!r}: expected [session, type, path]")
                session, etype, path = ev
                if session in self.local:
                    from .messages import WatcherEvent
                    self._csend(session, WatcherEvent, type=etype, path=path, zxid=z)

    return StudentWatches


def reference_fire_watches(triggers: list, data_watches: dict, child_watches: dict) -> tuple[list, dict, dict]:
    """The library's rule in the exercise's format."""
    data = {p: list(s) for p, s in data_watches.items()}
    child = {p: list(s) for p, s in child_watches.items()}
    events = []
    for path, kind in triggers:
        if kind in ("created", "changed"):
            sessions = data.pop(path, [])
            etype = kind.upper()
        elif kind == "deleted":
            sessions = sorted(set(data.pop(path, [])) | set(child.pop(path, [])))
            etype = "DELETED"
        else:
            sessions = child.pop(path, [])
            etype = "CHILD"
        events += [[s, etype, path] for s in sessions]
    return events, data, child


def watch_trial(fire_watches: Fn, seed: int = 1, names: tuple[str, ...] | None = None) -> Trial:
    """E7.2: the watch conformance cases with the student's trigger rule."""
    trial = Trial(seed)
    _compare(server_with_watches(fire_watches), names or WATCH_CASES, seed, trial, count="WatcherEvent")
    return trial


# == E7.4: ACLs ==================================================================================
def server_with_acl(digest_id: Fn, permitted: Fn) -> type[ZKServer]:
    """A server that authenticates digests with ``digest_id`` and decides permissions with
    ``permitted`` (reads on the serving server, writes at the leader)."""

    class StudentACL(ZKServer):
        def permitted(self, kind: str, path: str, acl_of: Any, ids: Any) -> bool:
            plain = {p: [list(e) for e in entries] for p, entries in acl_of.items()}
            out = permitted(kind, path, plain, [list(i) for i in ids])  # its exceptions end the trial
            if not isinstance(out, bool):
                raise StudentError(f"permitted({kind!r}, {path!r}, ...) returned {out!r}: expected True or False")
            return out

        def digest(self, credential: str) -> str:
            out = digest_id(credential)
            if not isinstance(out, str):
                raise StudentError(f"digest_id({credential!r}) returned {out!r}: expected a str 'user:hash'")
            return out

    return StudentACL


def acl_trial(digest_id: Fn, permitted: Fn, seed: int = 1, names: tuple[str, ...] | None = None) -> Trial:
    """E7.4: the ``acl_`` conformance cases (default: all) with the student's two functions;
    every failing case is listed."""
    trial = Trial(seed)
    _compare(server_with_acl(digest_id, permitted), names or ACL_CASES, seed, trial, keep_going=True)
    return trial


CREDENTIALS = ("alice:secret", "bob:", "carol:pa:ss:word", "dave:p\u00e4ss", ":nobody", "super:adminsecret")


def digest_trial(digest_id: Fn, seed: int = 1, count: int = 20) -> Trial:
    """``digest_id`` on fixed credentials (colons in the password, an empty password or user,
    non-ASCII) and ``count`` random ones; every wrong answer is listed."""
    from ..sim import stream
    rng = stream(seed, "zk-e7.4-digest")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:!-_\u00e9"
    credentials = list(CREDENTIALS)
    for _ in range(count):
        user = "".join(alphabet[int(i)] for i in rng.integers(0, 36, int(rng.integers(1, 8))))
        password = "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), int(rng.integers(0, 12))))
        credentials.append(f"{user}:{password}")
    trial = Trial(seed)
    for credential in credentials:
        want = acl.generate_digest(credential)
        try:
            got = digest_id(credential)
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        if got != want:
            trial.violate(f"digest_id({credential!r}) returned {got!r}, expected {want!r}")
    return trial


def random_question(rng: Any) -> tuple[str, str, dict[str, list[list[Any]]], list[list[str]]]:
    """A random permission question: an operation on ``/a/b`` (or ``/a/b/c``), the ACLs of the
    node and its ancestors, and a caller's identities."""
    ips = ["127.0.0.1", "10.0.0.7", "10.1.2.3", "192.168.1.20"]
    patterns = ["127.0.0.1", "10.0.0.0/8", "10.0.0.0/24", "192.168.0.0/16", "0.0.0.0/0", "10.1.2.3/32"]
    users = [acl.generate_digest(c) for c in ("alice:secret", "bob:pw", "carol:x")]
    path = "/a/b" if rng.random() < 0.5 else "/a/b/c"

    def entry() -> list[Any]:
        perms = int(rng.integers(0, 32))
        pick = rng.random()
        if pick < 0.3:
            return [perms, "world", "anyone"]
        if pick < 0.65:
            return [perms, "digest", users[int(rng.integers(0, 3))]]
        return [perms, "ip", patterns[int(rng.integers(0, len(patterns)))]]

    acls = {}
    p = path
    while True:
        acls[p] = [entry() for _ in range(int(rng.integers(1, 3)))]
        if p == "/":
            break
        p = acl.parent_of(p)
    ids = [["ip", ips[int(rng.integers(0, len(ips)))]]]
    ids += [["digest", users[int(i)]] for i in sorted(set(rng.integers(0, 3, int(rng.integers(0, 3))).tolist()))]
    kind = sorted(acl.NEEDS)[int(rng.integers(0, len(acl.NEEDS)))]
    return kind, path, acls, ids


def permission_trial(permitted: Fn, seed: int = 1, questions: int = 300) -> Trial:
    """``permitted`` on ``questions`` random questions (:func:`random_question`) against
    ZooKeeper's rule; the first disagreements are listed."""
    from ..sim import stream
    rng = stream(seed, "zk-e7.4-permitted")
    trial = Trial(seed)
    wrong = 0
    for _ in range(questions):
        kind, path, acls, ids = random_question(rng)
        want = acl.permitted(kind, path, acls, ids)
        try:
            got = permitted(kind, path, json.loads(json.dumps(acls)), json.loads(json.dumps(ids)))
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        if got is not want:
            wrong += 1
            trial.violate(f"permitted({kind!r}, {path!r}, {acls}, {ids}) returned {got!r}, expected {want!r}")
    trial.facts["wrong"] = wrong
    trial.facts["questions"] = questions
    return trial


# == E7.3: a stale read, then the fix ===========================================================
STEPS = ("write", "read", "sync", "wait")


def run_plan(steps: Any, seed: int = 1, lag_ms: float = 200.0) -> tuple[Recorder, str | None]:
    """Run a two-client plan: the writer on the leader, the reader on a follower whose link from
    the leader is slow. "write" sets /x to the next value, "sync" and "read" are the reader's
    (a read's operation starts at the reader's first sync after the previous read), "wait" lets
    1 s pass. Returns the history and the last value read."""
    if not isinstance(steps, (list, tuple)) or not all(s in STEPS for s in steps):
        raise StudentError(f"plan returned {steps!r}: expected a list of steps from {', '.join(STEPS)}")
    ens, _, writer, reader, history = lagging_reader(seed, lag_ms)
    n, reading, last = 0, False, None
    for step in steps:
        ens.run(1)
        if step == "write":
            n += 1
            history.invoke("writer", "put", ("/x", str(n)))
            writer.set("/x", str(n).encode())
            history.ok("writer", None)
        elif step == "sync":
            if not reading:
                history.invoke("reader", "get", "/x")
                reading = True
            reader.sync("/x")
        elif step == "read":
            if not reading:
                history.invoke("reader", "get", "/x")
            last = reader.get("/x")[0].decode()
            history.ok("reader", last)
            reading = False
        else:
            ens.run(1000)
    if reading:
        history.ok("reader", reader.get("/x")[0].decode())
    return history, last


def stale_read_trial(plan: Fn, seed: int = 1) -> Trial:
    """E7.3: ``plan(False)`` must give a history with a stale read (not linearizable),
    ``plan(True)`` a linearizable one that still reads after a write."""
    trial = Trial(seed)
    for use_sync in (False, True):
        try:
            steps = plan(use_sync)
            history, last = run_plan(steps, seed)
        except StudentError as e:
            return trial.fail(str(e))
        except Exception as e:  # noqa: BLE001 - the student's code failed: report it
            trial.error = e
            return trial
        verdict = lin.check(history.operations(flat=True), lin.kv(), timeout=10)
        if not use_sync and verdict.outcome != "illegal":
            return trial.fail(f"plan(False) = {list(steps)}: its history is linearizable (read {last!r}); "
                              "expected a stale read")
        if use_sync:
            if "write" not in steps or "read" not in steps or steps.index("write") > len(steps) - 1 - steps[::-1].index(
                    "read"):
                return trial.fail(f"plan(True) = {list(steps)}: expected a read after a write")
            if verdict.outcome != "ok":
                return trial.fail(f"plan(True) = {list(steps)}: the history is not linearizable (read {last!r})")
        trial.facts[f"sync={use_sync}"] = (list(steps), last, verdict.outcome)
    return trial


# == E8.1: FastLeaderElection's vote order =========================================================
def server_with_vote_order(better_vote: Fn) -> type[ZKServer]:
    """A server whose FastLeaderElection compares votes with ``better_vote``."""

    class StudentVotes(ZKServer):
        def better_vote(self, new: tuple[int, int, int], cur: tuple[int, int, int]) -> bool:  # type: ignore[override]
            out = better_vote(list(new), list(cur))
            if not isinstance(out, bool):
                raise StudentError(f"better_vote({list(new)}, {list(cur)}) returned {out!r}: expected True or False")
            return out

    return StudentVotes


def vote_order_trial(better_vote: Fn, seed: int = 1, n: int = 300) -> Trial:
    """``better_vote`` against the order (peerEpoch, zxid, myid) on ``n`` random pairs, many
    of them ties in the first or the first two components."""
    from ..sim import stream
    from .election import total_order
    from .messages import zxid as make_zxid

    trial = Trial(seed)
    rng = stream(seed, "zk-e8.1")
    for _ in range(n):
        a = [int(rng.integers(0, 3)), 0, int(rng.integers(1, 6))]
        b = [a[0] if rng.random() < 0.5 else int(rng.integers(0, 3)), 0, int(rng.integers(1, 6))]
        for v in (a, b):
            v[1] = make_zxid(int(rng.integers(0, v[0] + 1)), int(rng.integers(0, 4)))
        if rng.random() < 0.3:
            b[1] = a[1]
        try:
            got = better_vote(list(a), list(b))
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        want = total_order(tuple(a), tuple(b))  # type: ignore[arg-type]
        if got is not want:
            return trial.fail(f"better_vote({a}, {b}) returned {got!r}; expected {want} "
                              "(votes are (peerEpoch, zxid, myid), compared in that order)")
    trial.facts["pairs"] = n
    return trial


def election_trial(better_vote: Fn, seed: int = 1, servers: int = 5) -> Trial:
    """Servers start with random histories (some with an accepted epoch newer than their last
    zxid); the elected leader must have the largest vote, every server must follow it within
    10 s, and again after the leader crashes; ZAB's monitor must stay silent."""
    from ..sim import stream

    trial = Trial(seed)
    rng = stream(seed, "zk-e8.1-election")
    preset = {}
    for i in range(1, servers + 1):
        epoch = int(rng.integers(1, 3))
        preset[f"zk{i}"] = (epoch, int(rng.integers(0, 6)), epoch + int(rng.integers(0, 2)))
    cls = server_with_vote_order(better_vote)
    try:
        ens = ensemble(servers=servers, seed=seed, server_class=cls, preset=preset,
                       options=ZKOptions(tick_ms=200))
        trial.trace = ens.trace

        def votes(alive: list[str]) -> dict[str, tuple[int, int, int]]:
            return {s: (ens.nodes[s].current_epoch, ens.nodes[s].last_zxid(), ens.nodes[s].myid) for s in alive}

        for round_ in ("start", "after the leader crashed"):
            alive = [s for s in sorted(ens.nodes) if ens.up(s)]
            initial = votes(alive)
            best = max(initial, key=lambda s: initial[s])
            leader = ens.run_until_leader(10_000)
            if leader is None or not ens.settled():
                return trial.fail(f"{round_}: no leader followed by every live server within 10 s "
                                  f"(votes {initial})")
            if leader != best:
                return trial.fail(f"{round_}: {leader} was elected with vote {initial[leader]}, but {best} "
                                  f"has the larger vote {initial[best]}")
            trial.facts[round_] = leader
            ens.crash(leader)
    except StudentError as e:
        return trial.fail(str(e))
    except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
        trial.error = e
        return trial
    for message in ens.check():
        trial.violate(message)
    return trial


# == E8.3: recovery, the DIFF / TRUNC / SNAP decision ============================================
SYNC_KINDS = ("DIFF", "TRUNC", "SNAP")


def reference_sync_decision(peer: int, zxids: list[int], snap_zxid: int) -> list:
    """The library's decision (``LearnerHandler.syncFollower``) in the exercise's format."""
    kind, at = ZKServer.sync_decision(peer, list(zxids), snap_zxid)
    return [kind, at]


def _checked_decision(sync_decision: Fn, peer: int, zxids: list[int], snap_zxid: int) -> tuple[str, int]:
    out = sync_decision(peer, list(zxids), snap_zxid)  # its exceptions end the trial
    if not (isinstance(out, (list, tuple)) and len(out) == 2 and out[0] in SYNC_KINDS
            and isinstance(out[1], int) and not isinstance(out[1], bool) and out[1] >= 0):
        raise StudentError(f"sync_decision({peer}, {list(zxids)}, {snap_zxid}) returned {out!r}: expected "
                           "['DIFF', zxid], ['TRUNC', zxid] or ['SNAP', zxid]")
    return out[0], out[1]


def server_with_sync_decision(sync_decision: Fn) -> type[ZKServer]:
    """A server whose leader synchronizes learners with the student's ``sync_decision``."""

    class StudentSync(ZKServer):
        def sync_decision(self, peer: int, zxids: list[int], snap_zxid: int) -> tuple[str, int]:  # type: ignore[override]
            return _checked_decision(sync_decision, peer, zxids, snap_zxid)

    return StudentSync


def _zs(zs: Any) -> str:
    from .messages import zxid_str
    return "[" + " ".join(zxid_str(z) for z in zs) + "]"


def sync_case(rng: Any) -> tuple[int, list[int], int]:
    """A random (peer, leader's log after its snapshot, snapshot zxid) that ZAB can produce: the
    leader's history has epochs 1..E; the peer holds a prefix of it, or every transaction up to
    the end of some epoch plus proposals of that epoch the leader never saw (an old leader's)."""
    from .messages import zxid as make_zxid
    epochs = int(rng.integers(1, 5))
    counts = [int(rng.integers(0, 4)) for _ in range(epochs)]
    history = [make_zxid(e + 1, c + 1) for e in range(epochs) for c in range(counts[e])]
    s = int(rng.integers(0, len(history) + 1))
    snap_zxid = history[s - 1] if s else 0
    if rng.random() < 0.5:
        k = int(rng.integers(0, len(history) + 1))
        peer = history[k - 1] if k else 0
    else:
        e = int(rng.integers(1, epochs + 1))
        peer = make_zxid(e, counts[e - 1] + int(rng.integers(1, 4)))
    return peer, history[s:], snap_zxid


def sync_decision_trial(sync_decision: Fn, seed: int = 1, n: int = 200) -> Trial:
    """``sync_decision`` against ``LearnerHandler.syncFollower`` on ``n`` random cases (every
    disagreement is listed, up to 20)."""
    from ..sim import stream

    trial = Trial(seed)
    rng = stream(seed, "zk-e8.3")
    wrong = 0
    for _ in range(n):
        peer, zxids, snap_zxid = sync_case(rng)
        want = reference_sync_decision(peer, zxids, snap_zxid)
        try:
            got = list(_checked_decision(sync_decision, peer, zxids, snap_zxid))
        except StudentError as e:
            return trial.fail(str(e))
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        if got != want:
            wrong += 1
            trial.violate(f"sync_decision({peer}, {zxids}, {snap_zxid}) returned {got}; expected {want} "
                          f"(learner at {_zs([peer])}, leader's log {_zs(zxids)} after its snapshot at "
                          f"{_zs([snap_zxid])})")
    trial.facts["cases"] = n
    trial.facts["wrong"] = wrong
    return trial


def truncation_trial(sync_decision: Fn, seed: int = 1) -> Trial:
    """An old leader of epoch 1 logged proposals that fewer than a quorum acknowledged (itself
    and, with five servers, one follower), then crashed with them. The others elect a leader
    (epoch 2), which commits a few writes (sometimes none, and then no client session either, so
    its log ends below the old servers' last zxid; sometimes it snapshots them), then the old
    servers rejoin: they must drop those proposals (TRUNC, or SNAP when the leader's log
    no longer reaches back), deliver the new leader's order, and the ensemble must converge."""
    from ..sim import stream
    from .messages import zxid as make_zxid

    trial = Trial(seed)
    rng = stream(seed, "zk-e8.3-truncation")
    servers = 3 if rng.random() < 0.5 else 5
    common, extra, writes = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(0, 4))
    options = ZKOptions(tick_ms=200, snap_count=int(rng.choice([2, 1000])))
    old = ["zk1"] if servers == 3 else ["zk1", "zk2"]
    preset = {f"zk{i}": (1, common + extra if f"zk{i}" in old else common) for i in range(1, servers + 1)}
    dropped = {make_zxid(1, c) for c in range(common + 1, common + extra + 1)}
    trial.facts.update(servers=servers, common=common, extra=extra, writes=writes, snap_count=options.snap_count)
    try:
        ens = ensemble(servers=servers, seed=seed, options=options, preset=preset,
                       server_class=server_with_sync_decision(sync_decision))
        trial.trace = ens.trace
        for s in old:
            ens.crash(s)
        leader = ens.run_until_leader(20_000)
        if leader is None:
            return trial.fail("the servers without the old proposals elected no leader within 20 s")
        if writes:  # with no writes, no client either: the new leader's log ends where the
            zk = ens.client(server=leader, record=False)  # common prefix does, below the old
            zk.start()  # servers' last zxid (a session would be a transaction of epoch 2)
            for i in range(writes):
                zk.create(f"/w{i}", b"new")
        for s in old:
            ens.recover(s)
        if not ens.sim.run_until(lambda: ens.settled() and all(ens.up(s) for s in ens.nodes), 30_000):
            trial.violate(f"the old servers {old} did not rejoin and serve within 30 s "
                          f"(roles {ens.roles()})", ens.now)
        ens.run(2_000)
    except StudentError as e:
        return trial.fail(str(e))
    except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
        trial.error = e
        return trial
    for s in old:
        kept = sorted(dropped & {p.zxid for p in ens.nodes[s].log})
        if kept:
            trial.violate(f"{s} rejoined still holding {_zs(kept)}, proposals no quorum acknowledged "
                          f"(the new leader never saw them)", ens.now)
    for message in ens.check():
        trial.violate(message)
    if not ens.converged():
        trial.violate(f"the servers' trees differ after recovery (last applied {ens.zxids()})", ens.now)
    return trial


def recovery_trial(sync_decision: Fn, seed: int = 1) -> Trial:
    """A crash schedule: three clients write for 3 s while leaders are killed and servers crash
    every 400 ms (snapshots every 5 transactions, so all three decisions occur); then the
    ensemble heals and settles. ZAB's monitor must stay silent (nothing a quorum acknowledged is
    lost, every server delivers a prefix of one order) and the writes must be linearizable."""
    from . import workload

    trial = Trial(seed)
    try:
        r = workload.run(seed, servers=3, options=ZKOptions(tick_ms=200, snap_count=5), duration_ms=3_000,
                         fault_every_ms=400, settle_ms=10_000, kinds=("kill-leader", "crash"),
                         server_class=server_with_sync_decision(sync_decision))
    except StudentError as e:
        return trial.fail(str(e))
    except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
        trial.error = e
        return trial
    trial.trace = r.ens.trace
    for message in r.violations:
        trial.violate(message)
    trial.facts.update(r.facts)
    return trial


# == E8.4: quorum math ===========================================================================
def _subsets(servers: list[str]) -> list[list[str]]:
    return [[s for i, s in enumerate(servers) if mask >> i & 1] for mask in range(1 << len(servers))]


def _call_bool(fn: Fn, name: str, *args: Any) -> bool:
    out = fn(*args)
    if not isinstance(out, bool):
        raise StudentError(f"{name}{tuple(args)!r} returned {out!r}: expected True or False")
    return out


def failures_trial(tolerated_failures: Fn, seed: int = 1, up_to: int = 20) -> Trial:
    """``tolerated_failures(n)`` for n = 1..``up_to``, each checked against the definition by
    brute force: the largest f such that every set of n - f voters is still a majority."""
    trial = Trial(seed)
    for n in range(1, up_to + 1):
        want = max(f for f in range(n) if 2 * (n - f) > n)
        try:
            got = tolerated_failures(n)
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        if isinstance(got, bool) or not isinstance(got, int) or got != want:
            trial.violate(f"tolerated_failures({n}) returned {got!r}; expected {want} "
                          f"({n - want} of {n} is a majority, {n - want - 1} is not)")
    trial.facts["n"] = up_to
    return trial


def random_system(rng: Any, max_groups: int = 3, max_size: int = 3, max_weight: int = 3) -> tuple[list, dict]:
    """Groups of servers ``s1, s2, ...`` with weights 0..``max_weight`` (zero-weight servers and
    zero-weight groups are common)."""
    groups, weights, k = [], {}, 0
    n_groups = int(rng.integers(1, max_groups + 1))
    for _ in range(n_groups):
        group = []
        silent = n_groups > 1 and rng.random() < 0.3  # a zero-weight group (observers, say)
        for _ in range(int(rng.integers(1, max_size + 1))):
            k += 1
            group.append(f"s{k}")
            weights[f"s{k}"] = 0 if silent else (int(rng.integers(0, max_weight + 1)) if rng.random() < 0.7 else 1)
        groups.append(group)
    return groups, weights


def _exhaustive(fn: Fn, name: str, systems: list[tuple[list, dict]], hierarchical: bool, trial: Trial) -> Trial:
    """Every subset of every system, against the reference; every mismatch listed (up to 20)."""
    from .quorums import hierarchical_quorum, weighted_quorum
    checked = 0
    for groups, weights in systems:
        servers = [s for g in groups for s in g]
        for members in _subsets(servers):
            args = (groups, weights, members) if hierarchical else (weights, members)
            want = hierarchical_quorum(*args) if hierarchical else weighted_quorum(*args)
            try:
                got = _call_bool(fn, name, *args)
            except StudentError as e:
                return trial.fail(str(e))
            except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
                trial.error = e
                return trial
            checked += 1
            if got != want:
                trial.violate(f"{name}({', '.join(repr(a) for a in args)}) returned {got}; expected {want}")
    trial.facts["subsets"] = checked
    return trial


ZK_EXAMPLE = ([["s1", "s2", "s3"], ["s4", "s5", "s6"], ["s7", "s8", "s9"]], {f"s{i}": 1 for i in range(1, 10)})


def weighted_trial(weighted_quorum: Fn, seed: int = 1, systems: int = 8) -> Trial:
    """``weighted_quorum(weights, members)`` on every subset of ``systems`` random weighted
    systems of up to 6 servers (weights 0..3)."""
    from ..sim import stream
    rng = stream(seed, "zk-e8.4-weighted")
    cases = []
    for _ in range(systems):
        groups, weights = random_system(rng, max_groups=1, max_size=6)
        cases.append((groups, weights))
    return _exhaustive(weighted_quorum, "weighted_quorum", cases, False, Trial(seed))


def hierarchical_trial(hierarchical_quorum: Fn, seed: int = 1, systems: int = 8) -> Trial:
    """``hierarchical_quorum(groups, weights, members)`` on every subset of ZooKeeper's own
    example (three groups of three, weight 1) and of ``systems`` random systems of up to three
    groups of up to three servers, zero-weight servers and groups included."""
    from ..sim import stream
    rng = stream(seed, "zk-e8.4-hierarchical")
    cases = [ZK_EXAMPLE] + [random_system(rng) for _ in range(systems)]
    return _exhaustive(hierarchical_quorum, "hierarchical_quorum", cases, True, Trial(seed))


# == E8.2: broadcast, quorum ACK, COMMIT and INFORM ===============================================
PACKETS = ("PROPOSAL", "COMMIT", "INFORM")


def reference_commit_ready(outstanding: list, voters: list[int]) -> list[int]:
    """The library's rule in the exercise's format: the longest prefix (in zxid order) of
    proposals each ACKed by a majority of the voters."""
    ready = []
    for z, acks in sorted(outstanding):
        if 2 * len(set(acks) & set(voters)) <= len(voters):
            break
        ready.append(z)
    return ready


def reference_route(event: str, learners: list) -> list[list]:
    return [list(x) for x in ZKServer.route(event, [tuple(x) for x in learners])]


def server_with_broadcast(commit_ready: Fn, route: Fn, problems: list[str]) -> type[ZKServer]:
    """A server whose leader commits with ``commit_ready`` and addresses packets with ``route``;
    a commit without a quorum of voters, or out of zxid order, is appended to ``problems``."""
    from .messages import zxid_str

    class StudentBroadcast(ZKServer):
        def commit_ready(self, outstanding: list[tuple[int, list[int]]]) -> list[int]:
            voters = sorted(self.voters)
            out = commit_ready([[z, list(a)] for z, a in outstanding], voters)
            known = [z for z, _ in outstanding]
            if not isinstance(out, (list, tuple)) or not all(isinstance(z, int) and z in known for z in out):
                raise StudentError(f"commit_ready(...) returned {out!r}: expected a list of outstanding zxids")
            acks = dict(outstanding)
            for z in out[:1]:
                if z != known[0]:
                    problems.append(f"{self.id} committed {zxid_str(z)} before {zxid_str(known[0])}")
                if 2 * len(set(acks[z]) & set(voters)) <= len(voters):
                    problems.append(f"{self.id} committed {zxid_str(z)} with ACKs from {sorted(acks[z])}: not a "
                                    f"majority of the voters {voters}")
            return list(out)

        def route(self, event: str, learners: list[tuple[int, str]]) -> list[tuple[int, str]]:  # type: ignore[override]
            out = route(event, [list(x) for x in learners])
            sids = {sid for sid, _ in learners}
            if not isinstance(out, (list, tuple)) or not all(
                    isinstance(x, (list, tuple)) and len(x) == 2 and x[0] in sids and x[1] in PACKETS for x in out):
                raise StudentError(f"route({event!r}, {[list(x) for x in learners]}) returned {out!r}: expected "
                                   "[[sid, 'PROPOSAL' | 'COMMIT' | 'INFORM'], ...] for learners in the list")
            want = "PROPOSAL" if event == "propose" else None
            return [(x[0], x[1]) for x in out if (x[1] == "PROPOSAL") == (want == "PROPOSAL")]

    return StudentBroadcast


def broadcast_rules_trial(commit_ready: Fn, route: Fn, seed: int = 1, n: int = 100) -> Trial:
    """Both rules against ZooKeeper's on ``n`` random leader states (every mismatch listed)."""
    from ..sim import stream
    from .messages import zxid as make_zxid

    trial = Trial(seed)
    rng = stream(seed, "zk-e8.2")
    for _ in range(n):
        voters = list(range(1, int(rng.integers(1, 8)) + 1))
        observers = list(range(len(voters) + 1, len(voters) + 1 + int(rng.integers(0, 4))))
        outstanding = [[make_zxid(2, c), sorted({1} | {v for v in voters if rng.random() < 0.5})]
                       for c in range(1, int(rng.integers(0, 5)) + 1)]
        learners = [[s, "observer" if s in observers else "follower"]
                    for s in voters[1:] + observers if rng.random() < 0.8]
        event = "propose" if rng.random() < 0.5 else "commit"
        try:
            got_c = commit_ready([list(x) for x in outstanding], list(voters))
            got_r = route(event, [list(x) for x in learners])
        except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
            trial.error = e
            return trial
        want_c = reference_commit_ready(outstanding, voters)
        if not isinstance(got_c, (list, tuple)) or list(got_c) != want_c:
            trial.violate(f"commit_ready({outstanding}, {voters}) returned {got_c!r}; expected {want_c}")
        want_r = reference_route(event, learners)
        norm = sorted(list(x) for x in got_r) if isinstance(got_r, (list, tuple)) and all(
            isinstance(x, (list, tuple)) for x in got_r) else got_r
        if norm != sorted(want_r):
            trial.violate(f"route({event!r}, {learners}) returned {got_r!r}; expected {want_r}")
    trial.facts["states"] = n
    return trial


def observer_scaling(commit_ready: Fn, route: Fn, **options: Any) -> Any:
    """:func:`.datacenters.sweep` with every server using the student's two rules: prints the
    table and any commit the rules got wrong, and returns the figure (None, with a line saying
    why, while a rule is not written yet). ``options`` are :func:`.datacenters.second_datacenter`'s."""
    problems: list[str] = []
    try:
        placements = datacenters.sweep(server_class=server_with_broadcast(commit_ready, route, problems), **options)
    except NotImplementedError:
        print("Write commit_ready and route first: the sweep runs them in every server.")
        return None
    print(datacenters.table(placements))
    for message in problems[:5]:
        print("wrong commit:", message)
    from .labs import second_datacenter_figure
    return second_datacenter_figure(placements, "Your commit_ready and route, servers added in a second data centre")


def broadcast_trial(commit_ready: Fn, route: Fn, seed: int = 1) -> Trial:
    """Three or four voters and 0-2 observers (by seed); clients write for 3 s while leaders are killed
    and servers crash; then heal and settle. Every commit must have a quorum of voters' ACKs in
    zxid order (observers never count), every server (observers too) must deliver a prefix of
    one total order, and all must converge."""
    from ..sim import stream
    from . import workload

    trial = Trial(seed)
    rng = stream(seed, "zk-e8.2-ensemble")
    servers, observers = int(rng.integers(3, 5)), int(rng.integers(0, 3))
    problems: list[str] = []
    try:
        r = workload.run(seed, servers=servers, observers=observers, options=ZKOptions(tick_ms=200), duration_ms=3_000,
                         fault_every_ms=400, settle_ms=10_000, kinds=("kill-leader", "crash"),
                         server_class=server_with_broadcast(commit_ready, route, problems))
    except StudentError as e:
        return trial.fail(str(e))
    except Exception as e:  # noqa: BLE001 - the student's function raised: the trial's error
        trial.error = e
        return trial
    trial.trace = r.ens.trace
    for message in problems + r.violations:
        trial.violate(message)
    behind = [s for s in r.ens.nodes if r.ens.up(s) and r.ens.nodes[s].applied < max(
        x.applied for x in r.ens.nodes.values())]
    if behind:
        trial.violate(f"after settling, {behind} have not delivered everything (last applied {r.ens.zxids()})")
    trial.facts.update(r.facts, servers=servers, observers=observers)
    return trial
