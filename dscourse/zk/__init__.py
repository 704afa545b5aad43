"""dscourse.zk: ZooKeeper on the simulator -- the data tree, sessions and watches, a
kazoo-compatible client, FastLeaderElection and ZAB (Chapters 7 and 8).

* :func:`ensemble` -- ``ds.zk.ensemble(servers=3, observers=0, seed=1)``, an :class:`Ensemble`
  with ``.sim``, ``.nodes``, ``run``/``run_until``, ``client(...)``, ``leader()``, ``check()``.
* :class:`KazooClient` -- kazoo's API (``create``, ``get``, ``set``, ``delete``, ``exists``,
  ``get_children``, ``ensure_path``, ``sync``, ``transaction``, ``Lock``, ``Election``), with
  kazoo's :class:`ZnodeStat`, :class:`WatchedEvent` and exception names.
* ACLs with kazoo's names (:mod:`.security`): :class:`ACL`, :class:`Id`, :class:`Permissions`,
  :func:`make_digest_acl`, :func:`make_acl`, ``OPEN_ACL_UNSAFE``, ``CREATOR_ALL_ACL``,
  ``READ_ACL_UNSAFE``; :class:`NoAuthError`, :class:`InvalidACLError`, :class:`AuthFailedError`.
* :func:`connect` -- a real ``kazoo`` client to a real server, for the same recipes.
* :class:`ZKServer`, :class:`ZKOptions`, :class:`ZabMonitor`, :func:`total_order` -- the server,
  its settings, the safety monitor, FastLeaderElection's vote order.
* :mod:`.labs` (widgets and figures), :mod:`.exercises` (harnesses), :mod:`.workload` (the
  nemesis workload), :mod:`.experiments` (the stale read), :mod:`.datacenters` (observers
  against followers in a second datacenter), :mod:`.mutants` and :mod:`.conformance` load on
  first use.
"""

from __future__ import annotations

from typing import Any

from .._lazy import lazy
from .client import (
    AsyncResult,
    ClientNode,
    EventType,
    KazooClient,
    KazooState,
    KeeperState,
    TransactionRequest,
    WatchedEvent,
    normpath,
)
from .datatree import DataTree, ZnodeStat
from .election import FOLLOWING, LEADING, LOOKING, OBSERVING, Election, total_order
from .ensemble import Ensemble, ensemble
from .errors import (
    AuthFailedError,
    BadArgumentsError,
    BadVersionError,
    ConnectionClosedError,
    ConnectionLoss,
    InvalidACLError,
    KazooTimeoutError,
    LockTimeout,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
    SessionExpiredError,
    ZookeeperError,
)
from .invariants import ZabMonitor
from .messages import counter_of, epoch_of, zxid, zxid_str
from .recipes import Lock
from .security import (
    ACL,
    ANYONE_ID_UNSAFE,
    AUTH_IDS,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    Permissions,
    make_acl,
    make_digest_acl,
    make_digest_acl_credential,
)
from .server import ZKOptions, ZKServer


def connect(hosts: str = "127.0.0.1:2181", timeout: float = 10.0, **kwargs: Any) -> Any:
    """A started ``kazoo.client.KazooClient`` to a real ZooKeeper (needs ``pip install kazoo``).

    kazoo's connection chatter goes to a silent logger unless you pass ``logger=``; a failure
    to connect raises (kazoo's timeout error) and the client is closed."""
    import logging

    try:
        from kazoo.client import KazooClient as RealClient
    except ImportError as e:  # pragma: no cover - depends on the reader's machine
        raise ImportError("ds.zk.connect needs kazoo: pip install kazoo") from e
    if "logger" not in kwargs:
        quiet = logging.getLogger("dscourse.zk.kazoo")
        quiet.propagate = False
        quiet.addHandler(logging.NullHandler())
        kwargs["logger"] = quiet
    client = RealClient(hosts=hosts, **kwargs)
    try:
        client.start(timeout=timeout)
    except Exception:
        client.close()
        raise
    return client


__all__ = [
    "ACL",
    "ANYONE_ID_UNSAFE",
    "AUTH_IDS",
    "CREATOR_ALL_ACL",
    "FOLLOWING",
    "LEADING",
    "LOOKING",
    "OBSERVING",
    "OPEN_ACL_UNSAFE",
    "READ_ACL_UNSAFE",
    "AsyncResult",
    "AuthFailedError",
    "BadArgumentsError",
    "BadVersionError",
    "ClientNode",
    "ConnectionClosedError",
    "ConnectionLoss",
    "DataTree",
    "Election",
    "Ensemble",
    "EventType",
    "Id",
    "InvalidACLError",
    "KazooClient",
    "KazooState",
    "KazooTimeoutError",
    "KeeperState",
    "Lock",
    "LockTimeout",
    "NoAuthError",
    "NoChildrenForEphemeralsError",
    "NoNodeError",
    "NodeExistsError",
    "NotEmptyError",
    "Permissions",
    "RolledBackError",
    "RuntimeInconsistency",
    "SessionExpiredError",
    "TransactionRequest",
    "WatchedEvent",
    "ZKOptions",
    "ZKServer",
    "ZabMonitor",
    "ZnodeStat",
    "ZookeeperError",
    "connect",
    "counter_of",
    "ensemble",
    "epoch_of",
    "make_acl",
    "make_digest_acl",
    "make_digest_acl_credential",
    "normpath",
    "total_order",
    "zxid",
    "zxid_str",
]

__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "exercises", "workload", "experiments", "mutants",
                                                  "conformance", "datacenters"))
