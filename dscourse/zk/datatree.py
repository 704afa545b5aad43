"""The data tree: znodes with their stat, transactions, and the leader's request-to-txn step.

Follows ZooKeeper's server: ``PrepRequestProcessor`` checks a request against the tree and turns
it into an idempotent transaction (``CreateTxn``, ``DeleteTxn``, ``SetDataTxn``,
``CheckVersionTxn``, ``MultiTxn``, ``ErrorTxn``, session create/close); ``DataTree.processTxn``
applies a transaction, with its zxid and time, on every replica. Stat maintenance as in
``DataTree.createNode`` / ``deleteNode`` / ``setData`` (ZooKeeper 3.8): a create or delete bumps
the parent's ``cversion`` and sets its ``pzxid``. A sequential name is the parent's counter
formatted ``%010d``; the Programmer's Guide calls it the parent's cversion, but a real 3.8 server
counts only child *creations* there (its request processor's view of cversion), while the stat's
``cversion`` also counts deletes: measured by the conformance case
``sequential_counter_after_delete``, so ``Znode.seq`` keeps that count. Ephemeral nodes belong
to a session and may not have children (Programmer's Guide, "ZNodes" and "Ephemeral Nodes"; Hunt et al. 2010, §2.1).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, NamedTuple

from .acl import OPEN, READ_ONLY
from .errors import (
    BadArgumentsError,
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
    ZookeeperError,
)

SPECIAL = ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config")


class ZnodeStat(NamedTuple):
    """A znode's metadata, with kazoo's field names in kazoo's order (``kazoo.protocol.states``)."""

    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeralOwner: int
    dataLength: int
    numChildren: int
    pzxid: int

    @property
    def acl_version(self) -> int:
        return self.aversion

    @property
    def children_version(self) -> int:
        return self.cversion

    @property
    def created(self) -> float:
        return self.ctime / 1000.0

    @property
    def last_modified(self) -> float:
        return self.mtime / 1000.0

    @property
    def children_count(self) -> int:
        return self.numChildren

    @property
    def data_length(self) -> int:
        return self.dataLength

    @property
    def creation_transaction_id(self) -> int:
        return self.czxid

    @property
    def last_modified_transaction_id(self) -> int:
        return self.mzxid

    @property
    def owner_session_id(self) -> int | None:
        return self.ephemeralOwner or None


# -- transactions (idempotent, carry everything a replica needs) ------------------------------
@dataclass(frozen=True)
class CreateTxn:
    path: str
    data: bytes
    ephemeral_owner: int
    parent_cversion: int
    acl: tuple = OPEN  # (perms, scheme, id) entries, as fixed up by the leader (:mod:`.acl`)


@dataclass(frozen=True)
class DeleteTxn:
    path: str


@dataclass(frozen=True)
class SetDataTxn:
    path: str
    data: bytes
    version: int


@dataclass(frozen=True)
class SetACLTxn:
    """``SetACLTxn``: the node's new ACL and ACL version (``aversion``); data and mzxid stay."""

    path: str
    acl: tuple
    version: int


@dataclass(frozen=True)
class CheckVersionTxn:
    path: str
    version: int


@dataclass(frozen=True)
class ErrorTxn:
    """A request that failed at the leader; ``codes`` per operation for a failed multi."""

    code: int
    codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class MultiTxn:
    txns: tuple[Any, ...]


@dataclass(frozen=True)
class CreateSessionTxn:
    session: int
    timeout_ms: int


@dataclass(frozen=True)
class CloseSessionTxn:
    session: int


@dataclass(frozen=True)
class NoopTxn:
    """A no-op proposal (used for ``sync`` bookkeeping tests and epoch starts)."""


class Znode:
    """One node of the tree: data, stat fields and child names."""

    __slots__ = ("acl", "aversion", "children", "ctime", "cversion", "czxid", "data", "ephemeral_owner",
                 "mtime", "mzxid", "pzxid", "seq", "version")

    def __init__(self, data: bytes, zxid: int, time: int, owner: int = 0, acl: tuple = OPEN) -> None:
        self.data = data
        self.acl = acl
        self.czxid = self.mzxid = self.pzxid = zxid
        self.ctime = self.mtime = time
        self.version = self.cversion = self.aversion = 0
        self.seq = 0  # child creations: the sequential-name counter (see prep)
        self.ephemeral_owner = owner
        self.children: set[str] = set()

    def stat(self) -> ZnodeStat:
        return ZnodeStat(self.czxid, self.mzxid, self.ctime, self.mtime, self.version, self.cversion,
                         self.aversion, self.ephemeral_owner, len(self.data), len(self.children), self.pzxid)

    def dump(self) -> tuple:
        return (self.data, self.czxid, self.mzxid, self.pzxid, self.ctime, self.mtime, self.version,
                self.cversion, self.aversion, self.ephemeral_owner, tuple(sorted(self.children)), self.seq,
                self.acl)

    @classmethod
    def load(cls, row: tuple) -> Znode:
        z = cls(row[0], 0, 0)
        (z.czxid, z.mzxid, z.pzxid, z.ctime, z.mtime, z.version, z.cversion, z.aversion,
         z.ephemeral_owner) = row[1:10]
        z.children = set(row[10])
        z.seq = row[11]
        z.acl = tuple(tuple(e) for e in row[12]) if len(row) > 12 else OPEN
        return z


def parent_of(path: str) -> str:
    i = path.rfind("/")
    return "/" if i == 0 else path[:i]


def validate_path(path: Any, sequential: bool = False) -> str:
    """ZooKeeper's ``PathUtils.validatePath``: absolute, no empty or relative components."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise BadArgumentsError(f"path={path!r} is not allowed: expected an absolute path like '/a/b'")
    if path == "/":
        return path
    check = path + "x" if sequential and path.endswith("/") else path
    if check.endswith("/") or "//" in check or "\0" in check or any(
            c in (".", "..") for c in check.split("/")[1:]):
        raise BadArgumentsError(f"path={path!r} is not allowed: expected '/'-separated names, "
                                "none empty, '.' or '..'")
    return path


# Watch triggers a transaction produces: (path, kind) with kind in
# "created", "deleted", "changed", "child" (kazoo's CREATED, DELETED, CHANGED, CHILD).
Trigger = tuple[str, str]


class DataTree:
    """The in-memory tree every server holds (ZooKeeper's ``DataTree``)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Znode] = {}
        for path in SPECIAL:
            self.nodes[path] = Znode(b"", 0, 0)
        for path in SPECIAL[1:]:
            self.nodes[parent_of(path)].children.add(path.rsplit("/", 1)[1])
        config = self.nodes["/zookeeper/config"]  # ``DataTree.addConfigNode``: world-readable, aversion -1
        config.acl, config.aversion = READ_ONLY, -1
        self.ephemerals: dict[int, set[str]] = {}
        self.sessions: dict[int, int] = {}  # session id -> timeout (ms), as committed
        self.last_zxid = 0

    # -- reads -------------------------------------------------------------------------------
    def get(self, path: str) -> tuple[bytes, ZnodeStat]:
        z = self._node(path)
        return z.data, z.stat()

    def exists(self, path: str) -> ZnodeStat | None:
        z = self.nodes.get(path)
        return None if z is None else z.stat()

    def get_acl(self, path: str) -> tuple[tuple, ZnodeStat]:
        z = self._node(path)
        return z.acl, z.stat()

    def children(self, path: str) -> list[str]:
        return sorted(self._node(path).children)

    def _node(self, path: str) -> Znode:
        z = self.nodes.get(path)
        if z is None:
            raise NoNodeError(path)
        return z

    def digest(self) -> tuple:
        """Everything a replica's state is, as plain data (for comparing replicas)."""
        return tuple((p, self.nodes[p].dump()) for p in sorted(self.nodes)), tuple(sorted(self.sessions.items()))

    # -- snapshots ---------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"nodes": {p: z.dump() for p, z in self.nodes.items()},
                "sessions": dict(self.sessions), "last_zxid": self.last_zxid}

    @classmethod
    def load(cls, snap: dict[str, Any]) -> DataTree:
        t = cls()
        t.nodes = {p: Znode.load(row) for p, row in snap["nodes"].items()}
        t.sessions = dict(snap["sessions"])
        t.last_zxid = snap["last_zxid"]
        for p, z in t.nodes.items():
            if z.ephemeral_owner:
                t.ephemerals.setdefault(z.ephemeral_owner, set()).add(p)
        return t

    def copy(self) -> DataTree:
        return copy.deepcopy(self)

    # -- transactions (``DataTree.processTxn``) ---------------------------------------------
    def apply(self, zxid: int, time: int, txn: Any) -> tuple[Any, list[Trigger]]:
        """Apply ``txn`` (committed with ``zxid`` at ``time``); returns (result, watch triggers).

        The result is what the client gets: a path, a stat, True, an error code (int < 0) or,
        for a multi, the list of per-operation results."""
        triggers: list[Trigger] = []
        result = self._apply(zxid, time, txn, triggers)
        if zxid > self.last_zxid:
            self.last_zxid = zxid
        return result, triggers

    def _apply(self, zxid: int, time: int, txn: Any, triggers: list[Trigger]) -> Any:
        t = type(txn)
        if t is CreateTxn:
            parent = self.nodes[parent_of(txn.path)]
            self.nodes[txn.path] = Znode(txn.data, zxid, time, txn.ephemeral_owner, txn.acl)
            parent.children.add(txn.path.rsplit("/", 1)[1])
            parent.cversion = txn.parent_cversion
            parent.seq += 1
            parent.pzxid = zxid
            if txn.ephemeral_owner:
                self.ephemerals.setdefault(txn.ephemeral_owner, set()).add(txn.path)
            triggers += [(txn.path, "created"), (parent_of(txn.path), "child")]
            return txn.path
        if t is DeleteTxn:
            self._delete(txn.path, zxid, triggers)
            return True
        if t is SetDataTxn:
            z = self.nodes[txn.path]
            z.data, z.version, z.mzxid, z.mtime = txn.data, txn.version, zxid, time
            triggers.append((txn.path, "changed"))
            return z.stat()
        if t is CheckVersionTxn:
            return True
        if t is SetACLTxn:
            z = self.nodes[txn.path]
            z.acl, z.aversion = txn.acl, txn.version
            return z.stat()
        if t is MultiTxn:
            return [self._apply(zxid, time, sub, triggers) for sub in txn.txns]
        if t is ErrorTxn:
            if txn.codes:
                return list(txn.codes)
            return txn.code
        if t is CreateSessionTxn:
            self.sessions[txn.session] = txn.timeout_ms
            return txn.session
        if t is CloseSessionTxn:
            self.sessions.pop(txn.session, None)
            for path in sorted(self.ephemerals.pop(txn.session, ()), reverse=True):
                if path in self.nodes:
                    self._delete(path, zxid, triggers)
            return True
        if t is NoopTxn:
            return True
        raise TypeError(f"txn={txn!r} is not a known transaction")

    def _delete(self, path: str, zxid: int, triggers: list[Trigger]) -> None:
        z = self.nodes.pop(path)
        parent = self.nodes[parent_of(path)]
        parent.children.discard(path.rsplit("/", 1)[1])
        parent.cversion += 1
        if zxid > parent.pzxid:
            parent.pzxid = zxid
        if z.ephemeral_owner:
            self.ephemerals.get(z.ephemeral_owner, set()).discard(path)
        triggers += [(path, "deleted"), (parent_of(path), "child")]


# -- the leader's request processor (``PrepRequestProcessor.pRequest2Txn``) --------------------
WRITES = ("create", "delete", "setData", "setACL", "check", "multi", "createSession", "closeSession")


def prep(tree: DataTree, op: tuple, session: int) -> Any:
    """Turn a write request into a transaction, checked against ``tree`` (the leader's view
    including every outstanding proposal). Raises a :class:`ZookeeperError` when it fails; the
    leader then proposes an :class:`ErrorTxn` so the reply keeps the client's order."""
    kind = op[0]
    if kind == "create":
        _, path, data, ephemeral, sequential = op[:5]  # op[5], the ACL, is the server's (:mod:`.acl`)
        validate_path(path, sequential)
        if path == "/":
            raise NodeExistsError(path)
        parent_path = parent_of(path)
        parent = tree.nodes.get(parent_path)
        if parent is None:
            raise NoNodeError(parent_path)
        if parent.ephemeral_owner:
            raise NoChildrenForEphemeralsError(parent_path)
        if sequential:
            path = f"{path}{parent.seq:010d}"
        if path in tree.nodes:
            raise NodeExistsError(path)
        return CreateTxn(path, data, session if ephemeral else 0, parent.cversion + 1)
    if kind == "delete":
        _, path, version = op
        validate_path(path)
        if path in SPECIAL:
            raise BadArgumentsError(path)
        z = tree.nodes.get(path)
        if z is None:
            raise NoNodeError(path)
        if version != -1 and version != z.version:
            raise BadVersionError(path)
        if z.children:
            raise NotEmptyError(path)
        return DeleteTxn(path)
    if kind == "setData":
        _, path, data, version = op
        validate_path(path)
        z = tree.nodes.get(path)
        if z is None:
            raise NoNodeError(path)
        if version != -1 and version != z.version:
            raise BadVersionError(path)
        return SetDataTxn(path, data, z.version + 1)
    if kind == "setACL":  # ``op[2]`` is the ACL as fixed up by :func:`.acl.authorize`
        _, path, acl, version = op
        validate_path(path)
        z = tree.nodes.get(path)
        if z is None:
            raise NoNodeError(path)
        if version != -1 and version != z.aversion:
            raise BadVersionError(path)
        return SetACLTxn(path, tuple(acl), z.aversion + 1)
    if kind == "check":
        _, path, version = op
        validate_path(path)
        z = tree.nodes.get(path)
        if z is None:
            raise NoNodeError(path)
        if version != -1 and version != z.version:
            raise BadVersionError(path)
        return CheckVersionTxn(path, version)
    if kind == "createSession":
        return CreateSessionTxn(op[1], op[2])
    if kind == "closeSession":
        return CloseSessionTxn(op[1])
    raise BadArgumentsError(f"op={kind!r} is not allowed: expected one of {', '.join(WRITES)}")


def prep_multi(tree: DataTree, ops: tuple, session: int, zxid: int, time: int,
               prep_one: Any = None) -> Any:
    """A multi: each operation is checked against the tree as changed by the ones before it
    (``PrepRequestProcessor``, ``case OpCode.multi``). On the first failure the operations before
    it report ``RolledBackError``, the failing one its error, the rest ``RuntimeInconsistency``.
    ``tree`` is changed only when every operation succeeds."""
    scratch = tree.copy()
    txns = []
    for i, op in enumerate(ops):
        try:
            txn = (prep_one or prep)(scratch, op, session)
        except ZookeeperError as e:
            codes = ([RolledBackError.code] * i + [e.code] + [RuntimeInconsistency.code] * (len(ops) - i - 1))
            return ErrorTxn(e.code, tuple(codes))
        scratch.apply(zxid, time, txn)
        txns.append(txn)
    return MultiTxn(tuple(txns))
