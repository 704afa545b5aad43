"""A kazoo-compatible ZooKeeper client for the simulated ensemble.

:class:`KazooClient` has the method names, arguments, return values and exception classes of
``kazoo.client.KazooClient`` (kazoo 2.x), so a recipe written against it runs unchanged on a
real server (:func:`dscourse.zk.connect`). Each synchronous call sends the request and drives
the simulation until the reply arrives; the ``*_async`` variants return an :class:`AsyncResult`
whose ``rawlink`` callback lets protocol nodes use the client without blocking.

Behind it, :class:`ClientNode` is the connection state machine of kazoo's
``ConnectionHandler`` and ZooKeeper's client (Programmer's Guide, "ZooKeeper Sessions"): it
connects to one server at a time, pings when idle, declares the connection lost after 2/3 of
the session timeout without a word (kazoo's SUSPENDED), fails in-flight requests with
:class:`ConnectionLoss`, reconnects to another server with the same session and the last zxid
it has seen (a server that is behind refuses it: single system image), re-registers its
watches (``SetWatches``), and learns that its session expired only from a server (LOST).
Watches are one-shot: each registered function is called once with a :class:`WatchedEvent`.
ACLs as kazoo has them (:mod:`.security`): ``create(acl=...)``, ``get_acls``, ``set_acls`` and
``add_auth``, whose credentials the client sends again on every new connection (ZooKeeper
authenticates connections, not sessions).

The connection is a TCP stream: in order (``Ensemble`` makes the client's links to the
servers FIFO, as it does the servers' links to each other), a duplicate dropped, and a gap
(a message lost past TCP's retransmissions) a broken connection, after which the client
reconnects with its session.

Restarts. A crash and recovery of the client's node (``ds.sim``: the node is rebuilt from
``__init__``, only ``stable`` is kept) is a restart of the process the client runs in: the
session, its watches, the connection and the requests in flight were in memory and are gone
(what was in flight never completes; the old session's ephemerals stay until the servers
expire it). The :class:`KazooClient` object, the application's handle, survives with what
kazoo keeps on it: its ``add_listener`` listeners (a set, as kazoo's ``state_listeners``:
adding one again is a no-op, so an application that registers on every start is called once)
and its ``auth_data``. If it was started and not stopped, it starts again by itself with a
new session (a new process has no session id to resume) and calls its listeners with
CONNECTED; an application that calls ``start_async()`` on its own start just joins that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import allowed
from ..sim import Node
from .acl import OPEN
from .datatree import ZnodeStat
from .errors import (
    EXCEPTIONS,
    AuthFailedError,
    ConnectionClosedError,
    ConnectionLoss,
    KazooTimeoutError,
    NodeExistsError,
    NoNodeError,
    SessionExpiredError,
    ZookeeperError,
)
from .messages import (
    ClientPing,
    ClientReply,
    ClientRequest,
    ConnectRequest,
    ConnectResponse,
    Disconnect,
    PingReply,
    WatcherEvent,
)
from .security import ACL, Id


class KazooState:
    """kazoo's connection states (``kazoo.protocol.states.KazooState``)."""

    CONNECTED = "CONNECTED"
    SUSPENDED = "SUSPENDED"
    LOST = "LOST"


class KeeperState:
    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    EXPIRED_SESSION = "EXPIRED_SESSION"
    AUTH_FAILED = "AUTH_FAILED"
    CLOSED = "CLOSED"


class EventType:
    CREATED = "CREATED"
    DELETED = "DELETED"
    CHANGED = "CHANGED"
    CHILD = "CHILD"
    NONE = "NONE"


class WatchedEvent(NamedTuple):
    """What a watch function receives (``kazoo.protocol.states.WatchedEvent``)."""

    type: str
    state: str
    path: str


def normpath(path: Any, trailing: bool = False) -> str:
    """kazoo's ``kazoo.protocol.paths.normpath`` + root prefix: collapse empty components, refuse
    '.' and '..', keep a trailing '/' only for sequential creates."""
    if not isinstance(path, str):
        raise TypeError("Invalid type for 'path' (string expected)")
    comps = []
    for comp in path.split("/"):
        if comp == "":
            continue
        if comp in (".", ".."):
            raise ValueError("relative paths not allowed")
        comps.append(comp)
    new = "/".join(comps)
    if trailing and path.endswith("/"):
        new += "/"
    return "/" + new if new != "/" else new


class AsyncResult:
    """kazoo's ``IAsyncResult``: ``ready()``, ``successful()``, ``get()``, ``rawlink(fn)``.

    ``get()`` drives the simulation until the result is ready (``timeout`` in seconds of virtual
    time, as kazoo's); inside an event handler, prefer ``rawlink``."""

    def __init__(self, node: ClientNode) -> None:
        self._node = node
        self._done = False
        self.value: Any = None
        self.exception: BaseException | None = None
        self._links: list[Callable[[AsyncResult], Any]] = []

    def ready(self) -> bool:
        return self._done

    def successful(self) -> bool:
        return self._done and self.exception is None

    def set(self, value: Any = None) -> None:
        self._finish(value, None)

    def set_exception(self, exc: BaseException) -> None:
        self._finish(None, exc)

    def _finish(self, value: Any, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done, self.value, self.exception = True, value, exc
        for fn in self._links:
            fn(self)

    def rawlink(self, callback: Callable[[AsyncResult], Any]) -> None:
        if self._done:
            callback(self)
        else:
            self._links.append(callback)

    def unlink(self, callback: Callable[[AsyncResult], Any]) -> None:
        if callback in self._links:
            self._links.remove(callback)

    def wait(self, timeout: float | None = None) -> bool:
        self._node.drive(self.ready, timeout)
        return self._done

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not self._done and block:
            self.wait(timeout)
        if not self._done:
            raise KazooTimeoutError("the reply did not arrive in time (virtual)")
        if self.exception is not None:
            raise self.exception
        return self.value


@dataclass(eq=False)
class Handle:
    """What the application's :class:`KazooClient` holds and a restart of the client's node
    keeps (a constructor argument of :class:`ClientNode`, so ``ds.sim``'s rebuild hands the
    same object back): the state listeners, the ``auth_data`` and the driver of sync calls."""

    listeners: list[Callable[[str], Any]] = field(default_factory=list)
    auth_data: list[tuple[str, str]] = field(default_factory=list)  # (scheme, credential)
    driver: Callable[[Callable[[], bool], float | None], None] | None = None


class ClientNode(Node):
    """The client's connection to the ensemble, as a simulated process (see module docstring)."""

    def __init__(self, id: str, servers: tuple[str, ...], timeout_ms: int, ip: str = "127.0.0.1",
                 handle: Handle | None = None) -> None:
        super().__init__(id)
        self.servers = servers
        self.ip = ip
        self.handle = handle if handle is not None else Handle()
        self.auth_data = self.handle.auth_data  # sent on every connection
        self.requested_timeout = timeout_ms
        self.timeout_ms = timeout_ms
        self.session = 0
        self.keeper = KeeperState.CLOSED
        self.state = KazooState.LOST
        self.server: str | None = None
        self.attempt = 0
        self.rotation = 0
        self.last_zxid = 0
        self.xid = 0
        self.seq_in = self.seq_out = 0
        self.last_recv = 0.0
        self.last_send = 0.0
        self.pending: dict[int, tuple[tuple, AsyncResult, Callable | None]] = {}
        self.outbox: list[tuple[tuple, AsyncResult, Callable | None]] = []
        self.data_watchers: dict[str, dict[Callable, None]] = {}
        self.child_watchers: dict[str, dict[Callable, None]] = {}
        self.listeners = self.handle.listeners
        self.started = False

    def drive(self, done: Callable[[], bool], timeout_s: float | None) -> None:
        if self.handle.driver is not None:
            self.handle.driver(done, timeout_s)

    def on_recover(self) -> None:
        """The process restarted (module docstring, "Restarts"): start again, with a new
        session, if the application had started the client and not stopped it."""
        if self.stable.get("started"):
            self.begin()

    def _set_started(self, started: bool) -> None:
        self.started = started
        self.stable["started"] = started

    # -- connection state machine ------------------------------------------------------------
    def begin(self) -> None:
        self._set_started(True)
        self.keeper = KeeperState.CONNECTING
        self._connect_next()
        self.set_timer(self._read_timeout() / 2, "check")

    def _read_timeout(self) -> float:
        return self.timeout_ms * 2 / 3

    def _to_server(self, msg: Any) -> None:
        assert self.server is not None, "not connected to any server"
        self.send(self.server, msg)

    def _connect_next(self) -> None:
        self.server = self.servers[self.rotation % len(self.servers)]
        self.rotation += 1
        self.attempt += 1
        self.send(self.server, ConnectRequest(self.session, self.requested_timeout, self.last_zxid, self.attempt,
                                              self.ip))
        self.last_send = self.now
        self.set_timer(max(self.requested_timeout / len(self.servers), 100), "connect_timeout", self.attempt)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.annotate(state=state, session=self.session)
            for fn in list(self.listeners):
                fn(state)

    def _suspend(self) -> None:
        """The connection broke: fail what is in flight, reconnect elsewhere with the session."""
        for _, (_, result, _) in sorted(self.pending.items()):
            result.set_exception(ConnectionLoss())
        self.pending.clear()
        self.keeper = KeeperState.CONNECTING
        self._set_state(KazooState.SUSPENDED)
        self._connect_next()

    def _lost(self) -> None:
        self.keeper = KeeperState.EXPIRED_SESSION
        for _, (_, result, _) in sorted(self.pending.items()):
            result.set_exception(SessionExpiredError())
        for _, result, _ in self.outbox:
            result.set_exception(SessionExpiredError())
        self.pending.clear()
        self.outbox.clear()
        self.data_watchers.clear()
        self.child_watchers.clear()
        self._set_state(KazooState.LOST)
        if self.started:  # kazoo starts a fresh session after an expiry
            self.session = 0
            self.keeper = KeeperState.CONNECTING
            self._connect_next()

    def _auth_failed(self) -> None:
        """kazoo's AUTH_FAILED: the server closed the connection and kazoo stops connecting, so the
        client ends CLOSED (later calls raise :class:`ConnectionClosedError`, as on a real server)."""
        self._set_started(False)
        self.keeper = KeeperState.CLOSED
        for _, (_, result, _) in sorted(self.pending.items()):
            result.set_exception(AuthFailedError())
        for _, result, _ in self.outbox:
            result.set_exception(AuthFailedError())
        self.pending.clear()
        self.outbox.clear()
        self.server = None
        self._set_state(KazooState.LOST)

    def on_timer(self, name: str, payload: Any) -> None:
        if not self.started:
            return
        if name == "connect_timeout":
            if payload == self.attempt and self.keeper == KeeperState.CONNECTING:
                self._connect_next()
        elif name == "check":
            self.set_timer(self._read_timeout() / 2, "check")
            if self.keeper == KeeperState.CONNECTED:
                if self.now - self.last_recv > self._read_timeout():
                    self._suspend()
                elif self.now - self.last_send >= self._read_timeout() / 2:
                    self.seq_out += 1
                    self._to_server(ClientPing(self.session, self.seq_out))
                    self.last_send = self.now

    def on_message(self, src: str, msg: Any) -> None:
        if not self.started or src != self.server:
            return
        self.last_recv = self.now
        t = type(msg)
        if t in (ClientReply, WatcherEvent, PingReply):
            if self.keeper != KeeperState.CONNECTED:
                return
            if msg.seq <= self.seq_in:  # a duplicate: TCP drops it
                return
            if msg.seq != self.seq_in + 1:  # the stream lost a message: it is broken
                return self._suspend()
            self.seq_in = msg.seq
        if t is ConnectResponse:
            if msg.attempt != self.attempt or self.keeper != KeeperState.CONNECTING:
                return
            if msg.expired:
                return self._lost()
            reconnect = self.session != 0
            self.session, self.timeout_ms = msg.session, msg.timeout_ms
            self.seq_in = self.seq_out = 0
            self.keeper = KeeperState.CONNECTED
            self._set_state(KazooState.CONNECTED)
            for scheme, credential in self.auth_data:  # kazoo authenticates each new connection
                self._send(("auth", scheme, credential), AsyncResult(self))
            if reconnect and (self.data_watchers or self.child_watchers):
                self._send(("setWatches", self.last_zxid, tuple(sorted(self.data_watchers)),
                            tuple(sorted(self.child_watchers))), AsyncResult(self))
            outbox, self.outbox = self.outbox, []
            for op, result, watcher in outbox:
                self._send(op, result, watcher)
        elif t is ClientReply:
            if msg.zxid > self.last_zxid:
                self.last_zxid = msg.zxid
            entry = self.pending.pop(msg.xid, None)
            if entry is not None:
                self._complete(*entry, msg)
        elif t is WatcherEvent:
            if msg.zxid > self.last_zxid:
                self.last_zxid = msg.zxid
            self._dispatch(msg)
        elif t is PingReply:
            if msg.zxid > self.last_zxid:
                self.last_zxid = msg.zxid
        elif t is Disconnect:
            if msg.expired:
                self._lost()
            elif self.keeper in (KeeperState.CONNECTED, KeeperState.CONNECTING):
                self._suspend()

    # -- requests ------------------------------------------------------------------------------
    def submit(self, op: tuple, watcher: Callable | None = None) -> AsyncResult:
        """Queue ``op`` (a request tuple, plain data) and return its result; ``watcher`` is the
        watch function a read registers (kept here: only the flag travels)."""
        result = AsyncResult(self)
        if self.keeper in (KeeperState.CLOSED, KeeperState.EXPIRED_SESSION):
            result.set_exception(ConnectionClosedError("the client is not started")
                                 if self.keeper == KeeperState.CLOSED else SessionExpiredError())
        elif self.keeper == KeeperState.CONNECTED:
            self._send(op, result, watcher)
        else:
            self.outbox.append((op, result, watcher))
        return result

    def _send(self, op: tuple, result: AsyncResult, watcher: Callable | None = None) -> None:
        self.xid += 1
        self.pending[self.xid] = (op, result, watcher)
        self.seq_out += 1
        self._to_server(ClientRequest(self.session, self.xid, op, self.seq_out))
        self.last_send = self.now

    def _complete(self, op: tuple, result: AsyncResult, watcher: Callable | None, reply: ClientReply) -> None:
        kind = op[0]
        if kind == "setWatches":
            return result.set(True)
        if kind == "auth":
            if reply.err:
                result.set_exception(AuthFailedError())
                return self._auth_failed()
            return result.set(True)
        if kind == "getACL" and not reply.err:
            acl, stat = reply.result
            return result.set(([ACL(p, Id(s, i)) for p, s, i in acl], stat))
        if kind == "multi":
            if reply.err:
                return result.set([EXCEPTIONS[c]() for c in reply.result])
            return result.set(reply.result)
        if kind == "exists":
            self._register(op, reply.err, watcher)
            return result.set(reply.result)
        if reply.err:
            return result.set_exception(EXCEPTIONS.get(reply.err, ZookeeperError)(op[1] if len(op) > 1 else ""))
        self._register(op, 0, watcher)
        if kind == "getData":
            return result.set(reply.result)
        if kind == "getChildren":
            return result.set(reply.result)
        if kind == "sync":
            return result.set(op[1])
        if kind == "closeSession":
            return result.set(True)
        return result.set(reply.result)

    def _register(self, op: tuple, err: int, watcher: Callable | None) -> None:
        """Client-side watch table (kazoo registers the function when the reply comes)."""
        if watcher is not None and err == 0:
            table = self.child_watchers if op[0] == "getChildren" else self.data_watchers
            table.setdefault(op[1], {})[watcher] = None

    def _dispatch(self, ev: WatcherEvent) -> None:
        fns: list[Callable] = []
        if ev.type in ("CREATED", "CHANGED"):
            fns += self.data_watchers.pop(ev.path, {})
        elif ev.type == "DELETED":
            fns += self.data_watchers.pop(ev.path, {})
            fns += self.child_watchers.pop(ev.path, {})
        elif ev.type == "CHILD":
            fns += self.child_watchers.pop(ev.path, {})
        event = WatchedEvent(ev.type, KeeperState.CONNECTED, ev.path)
        for fn in fns:
            fn(event)

    def close(self) -> None:
        self._set_started(False)
        self.keeper = KeeperState.CLOSED
        for _, (_, result, _) in sorted(self.pending.items()):
            result.set_exception(ConnectionClosedError())
        self.pending.clear()
        self.server = None
        self._set_state(KazooState.LOST)


def _check_bytes(value: Any) -> None:
    if not isinstance(value, bytes):
        raise TypeError("Invalid type for 'value' (must be a byte string)")


def _wire_acl(acl: Any) -> tuple:
    """kazoo's check (a list or tuple of ACLs), then plain ``(perms, scheme, id)`` entries."""
    if isinstance(acl, ACL) or not isinstance(acl, (tuple, list)):
        raise TypeError("Invalid type for 'acl' (acl must be a tuple/list of ACL's")
    out = []
    for a in acl:
        try:
            out.append((int(a.perms), str(a.id.scheme), str(a.id.id)))
        except AttributeError:
            raise TypeError(f"acl entry {a!r} is not an ACL: expected ACL(perms, Id(scheme, id))") from None
    return tuple(out)


def _create_op(path: str, value: bytes, acl: Any, ephemeral: bool, sequence: bool) -> tuple:
    """The create request; an ACL other than the open default travels as a sixth element."""
    op: tuple = ("create", normpath(path, sequence), value, bool(ephemeral), bool(sequence))
    wire = OPEN if acl is None else _wire_acl(acl)
    return (*op, wire) if wire != OPEN else op


def _check_version(version: Any) -> None:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError("Invalid type for 'version' (int expected)")


class TransactionRequest:
    """kazoo's ``TransactionRequest``: queue operations, ``commit()`` them atomically (``multi``).

    ``commit()`` returns one result per operation (a path, ``True`` or a :class:`ZnodeStat`), or,
    when the transaction failed, exception *instances*: ``RolledBackError`` for the valid
    operations before the failing one, its error, then ``RuntimeInconsistency``."""

    def __init__(self, client: KazooClient) -> None:
        self.client = client
        self.operations: list[tuple] = []
        self.committed = False

    def create(self, path: str, value: bytes = b"", acl: Any = None, ephemeral: bool = False,
               sequence: bool = False) -> None:
        _check_bytes(value)
        acl = acl or self.client.default_acl
        self.operations.append(_create_op(path, value, acl, ephemeral, sequence))

    def delete(self, path: str, version: int = -1) -> None:
        _check_version(version)
        self.operations.append(("delete", normpath(path), version))

    def set_data(self, path: str, value: bytes, version: int = -1) -> None:
        _check_bytes(value)
        _check_version(version)
        self.operations.append(("setData", normpath(path), value, version))

    def check(self, path: str, version: int) -> None:
        _check_version(version)
        self.operations.append(("check", normpath(path), version))

    def commit_async(self) -> AsyncResult:
        if self.committed:
            raise ValueError("Transaction already committed")
        self.committed = True
        return self.client._node.submit(("multi", tuple(self.operations)))

    def commit(self) -> list:
        return self.commit_async().get()

    def __enter__(self) -> TransactionRequest:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()


class KazooClient:
    """The kazoo API over a :class:`ClientNode` (built by ``Ensemble.client``)."""

    def __init__(self, node: ClientNode, sim: Any, recorder: Any = None, default_acl: Any = None,
                 auth_data: Any = None) -> None:
        self._node = node
        self._sim = sim
        self._recorder = recorder
        self.default_acl = default_acl
        for scheme, credential in auth_data or ():
            node.auth_data.append((scheme, credential))
        node.handle.driver = self._drive

    def __repr__(self) -> str:
        return f"<KazooClient {self._node.id} -> {self._node.server} {self.state} session={self._node.session:#x}>"

    # -- driving the simulation -----------------------------------------------------------------
    def _drive(self, done: Callable[[], bool], timeout_s: float | None) -> None:
        limit = 4 * self._node.requested_timeout if timeout_s is None else timeout_s * 1000
        self._sim.run_until(done, timeout=limit)

    def _call(self, op: tuple) -> Any:
        return self._node.submit(op).get()

    # -- session ---------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._node.state

    @property
    def connected(self) -> bool:
        return self._node.state == KazooState.CONNECTED

    @property
    def client_id(self) -> tuple[int, bytes] | None:
        return (self._node.session, b"") if self._node.session else None

    @property
    def client_state(self) -> str:
        return self._node.keeper

    @property
    def server(self) -> str | None:
        """The server this client is connected to (not in kazoo; handy in the simulation)."""
        return self._node.server

    @property
    def id(self) -> str:
        return self._node.id

    def start(self, timeout: float = 15) -> None:
        """Connect and create a session; raises :class:`KazooTimeoutError` after ``timeout`` s."""
        node = self._node
        if node.keeper == KeeperState.CONNECTED:
            return
        node.begin()
        self._sim.run_until(lambda: node.keeper != KeeperState.CONNECTING, timeout=timeout * 1000)
        if node.keeper != KeeperState.CONNECTED:
            node.close()
            raise KazooTimeoutError("Connection time-out")

    def start_async(self) -> AsyncResult:
        """Begin connecting without driving the simulation, for a protocol node that uses the
        client (kazoo's ``start_async``): the result is set (True) once connected; requests
        made meanwhile wait for the connection."""
        node = self._node
        result = AsyncResult(node)
        if node.keeper == KeeperState.CONNECTED:
            result.set(True)
            return result

        def connected(state: str) -> None:
            if state == KazooState.CONNECTED:
                node.listeners.remove(connected)
                result.set(True)

        node.listeners.append(connected)
        if not node.started:
            node.begin()
        return result

    def stop(self) -> None:
        """Close the session (its ephemeral nodes go) and the connection."""
        node = self._node
        if node.keeper == KeeperState.CONNECTED:
            try:
                node.submit(("closeSession", node.session)).get()
            except (ZookeeperError, KazooTimeoutError):
                pass
        node.close()

    def close(self) -> None:
        self._node.close()

    def add_listener(self, listener: Callable[[str], Any]) -> None:
        """kazoo's ``add_listener``: its listeners are a set (adding one twice is a no-op)."""
        if not callable(listener):
            raise allowed("listener", listener, "a callable taking the new state")
        if listener not in self._node.listeners:
            self._node.listeners.append(listener)

    def remove_listener(self, listener: Callable[[str], Any]) -> None:
        if listener in self._node.listeners:
            self._node.listeners.remove(listener)

    # -- recording -------------------------------------------------------------------------------
    def _recorded(self, f: str, value: Any, call: Callable[[], Any], out: Callable[[Any], Any]) -> Any:
        rec = self._recorder
        if rec is None:
            return call()
        rec.invoke(self.id, f, value)
        try:
            result = call()
        except NoNodeError:
            if f == "get":
                rec.ok(self.id, "")
            else:
                rec.fail(self.id, "NoNodeError")
            raise
        except (ConnectionLoss, KazooTimeoutError) as e:
            rec.info(self.id, type(e).__name__)
            raise
        except Exception as e:
            rec.fail(self.id, type(e).__name__)
            raise
        rec.ok(self.id, out(result))
        return result

    # -- the data API -----------------------------------------------------------------------------
    def create_async(self, path: str, value: bytes = b"", acl: Any = None, ephemeral: bool = False,
                     sequence: bool = False, makepath: bool = False) -> AsyncResult:
        _check_bytes(value)
        return self._node.submit(_create_op(path, value, acl or self.default_acl, ephemeral, sequence))

    def create(self, path: str, value: bytes = b"", acl: Any = None, ephemeral: bool = False,
               sequence: bool = False, makepath: bool = False, include_data: bool = False) -> str:
        """Create a znode; returns its path (with the ``%010d`` suffix when ``sequence``)."""
        if include_data:
            raise allowed("include_data", include_data, "False (Create2 is not simulated)")
        try:
            return self.create_async(path, value, acl, ephemeral, sequence).get()
        except NoNodeError:
            if not makepath:
                raise
        parent = normpath(path, sequence).rstrip("/").rsplit("/", 1)[0] or "/"
        self.ensure_path(parent, acl)
        return self.create_async(path, value, acl, ephemeral, sequence).get()

    def ensure_path(self, path: str, acl: Any = None) -> bool | str:
        """Create ``path`` and any missing ancestors (kazoo's ``ensure_path``): True when it
        already existed, else the path created (as kazoo returns)."""
        path = normpath(path)
        if self.exists(path) is not None:
            return True
        parts = [p for p in path.split("/") if p]
        current = ""
        result: bool | str = True
        for part in parts:
            current += "/" + part
            try:
                result = self.create_async(current, acl=acl).get()
            except NodeExistsError:
                result = True
        return result

    def get_async(self, path: str, watch: Callable | None = None) -> AsyncResult:
        return self._node.submit(("getData", normpath(path), watch is not None), watch)

    def get(self, path: str, watch: Callable | None = None) -> tuple[bytes, ZnodeStat]:
        """``(data, stat)``; ``watch`` is called once on the next CHANGED or DELETED."""
        return self._recorded("get", normpath(path), lambda: self.get_async(path, watch).get(),
                              lambda r: r[0].decode(errors="replace"))

    def exists_async(self, path: str, watch: Callable | None = None) -> AsyncResult:
        return self._node.submit(("exists", normpath(path), watch is not None), watch)

    def exists(self, path: str, watch: Callable | None = None) -> ZnodeStat | None:
        """The stat or None; ``watch`` fires on CREATED, CHANGED or DELETED."""
        return self.exists_async(path, watch).get()

    def get_children_async(self, path: str, watch: Callable | None = None) -> AsyncResult:
        return self._node.submit(("getChildren", normpath(path), watch is not None), watch)

    def get_children(self, path: str, watch: Callable | None = None,
                     include_data: bool = False) -> list[str] | tuple[list[str], ZnodeStat]:
        """Child names; ``watch`` fires once on CHILD (a child created or deleted) or DELETED."""
        children, stat = self.get_children_async(path, watch).get()
        return (children, stat) if include_data else children

    def set_async(self, path: str, value: bytes, version: int = -1) -> AsyncResult:
        _check_bytes(value)
        _check_version(version)
        return self._node.submit(("setData", normpath(path), value, version))

    def set(self, path: str, value: bytes, version: int = -1) -> ZnodeStat:
        """Set the data if ``version`` is -1 or the current version; returns the new stat."""
        return self._recorded("put", (normpath(path), value.decode(errors="replace")) if isinstance(value, bytes)
                              else None, lambda: self.set_async(path, value, version).get(), lambda r: None)

    def delete_async(self, path: str, version: int = -1) -> AsyncResult:
        _check_version(version)
        return self._node.submit(("delete", normpath(path), version))

    def delete(self, path: str, version: int = -1, recursive: bool = False) -> bool | None:
        """Delete a znode: True. With ``recursive``, its descendants first, a missing node is
        fine, and the result is None (as kazoo's)."""
        if not recursive:
            return self.delete_async(path, version).get()
        try:
            for child in self.get_children_async(path).get()[0]:
                self.delete(normpath(path) + "/" + child if normpath(path) != "/" else "/" + child,
                            recursive=True)
            self.delete_async(path, version).get()
        except NoNodeError:
            pass
        return None

    # -- access control ----------------------------------------------------------------------------
    def get_acls_async(self, path: str) -> AsyncResult:
        return self._node.submit(("getACL", normpath(path)))

    def get_acls(self, path: str) -> tuple[list[ACL], ZnodeStat]:
        """``(acl, stat)``; needs READ or ADMIN on the node, and without ADMIN digest ids come
        back as ``user:x`` (ZOOKEEPER-1392)."""
        return self.get_acls_async(path).get()

    def set_acls_async(self, path: str, acls: Any, version: int = -1) -> AsyncResult:
        wire = _wire_acl(acls)
        _check_version(version)
        return self._node.submit(("setACL", normpath(path), wire, version))

    def set_acls(self, path: str, acls: Any, version: int = -1) -> ZnodeStat:
        """Replace the node's ACL (needs ADMIN) if ``version`` is -1 or its ``aversion``; the
        new stat. Children keep their own ACLs: ACLs are not recursive."""
        return self.set_acls_async(path, acls, version).get()

    def add_auth_async(self, scheme: str, credential: str) -> AsyncResult:
        if not isinstance(scheme, str):
            raise TypeError("Invalid type for 'scheme' (string expected)")
        if not isinstance(credential, str):
            raise TypeError("Invalid type for 'credential' (string expected)")
        if (scheme, credential) not in self._node.auth_data:
            self._node.auth_data.append((scheme, credential))
        return self._node.submit(("auth", scheme, credential))

    def add_auth(self, scheme: str, credential: str) -> bool:
        """Authenticate this connection (``digest``, ``user:password``): True. An unknown scheme
        raises :class:`AuthFailedError` and leaves the client failed, as kazoo does."""
        return self.add_auth_async(scheme, credential).get()

    def sync_async(self, path: str) -> AsyncResult:
        return self._node.submit(("sync", normpath(path)))

    def sync(self, path: str) -> str:
        """Flush the channel to the leader: later reads see every write committed before it."""
        return self.sync_async(path).get()

    def transaction(self) -> TransactionRequest:
        return TransactionRequest(self)

    # -- recipes ----------------------------------------------------------------------------------
    def Lock(self, path: str, identifier: str | None = None) -> Any:
        from .recipes import Lock
        return Lock(self, path, identifier)

    def Election(self, path: str, identifier: str | None = None) -> Any:
        from .recipes import Election
        return Election(self, path, identifier)

