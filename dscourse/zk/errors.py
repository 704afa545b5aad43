"""ZooKeeper's error codes as kazoo's exception classes (``kazoo.exceptions``).

Each class has kazoo's name and ZooKeeper's numeric ``code`` (``KeeperException.Code`` in the
Java client; the ZooKeeper Programmer's Guide, "Error handling"), so ``except ds.zk.NoNodeError``
reads the same against the simulation and against a real server through kazoo. They derive from
:class:`ZookeeperError` and from :class:`dscourse.errors.DscourseError`.
"""

from __future__ import annotations

from ..errors import DscourseError


class ZookeeperError(DscourseError):
    """A failed ZooKeeper operation (kazoo's base class of the coded errors)."""

    code = -1


class RolledBackError(ZookeeperError):
    """In a failed transaction: this operation was valid but rolled back with the rest."""

    code = 0


class RuntimeInconsistency(ZookeeperError):
    """In a failed transaction: an operation after the failing one (never checked)."""

    code = -2


class ConnectionLoss(ZookeeperError):
    """The connection to the server broke before the reply came (the outcome is unknown)."""

    code = -4


class BadArgumentsError(ZookeeperError, ValueError):
    """The server rejected the arguments (e.g. deleting ``/`` or ``/zookeeper``)."""

    code = -8


class NoNodeError(ZookeeperError):
    code = -101


class NoAuthError(ZookeeperError):
    """The node's ACL does not grant this connection the permission the operation needs."""

    code = -102


class BadVersionError(ZookeeperError):
    code = -103


class NoChildrenForEphemeralsError(ZookeeperError):
    code = -108


class NodeExistsError(ZookeeperError):
    code = -110


class NotEmptyError(ZookeeperError):
    code = -111


class SessionExpiredError(ZookeeperError):
    code = -112


class InvalidACLError(ZookeeperError):
    """An ACL given to create or set_acls is empty after ``auth`` expansion, or names an id its
    scheme does not accept (``world`` other than ``anyone``, ``digest`` without one colon, a bad
    ``ip`` pattern, an unknown scheme)."""

    code = -114


class AuthFailedError(ZookeeperError):
    """``add_auth`` with a scheme the server has no provider for: the server closes the
    connection and the client stays failed (kazoo's AUTH_FAILED)."""

    code = -115


class KazooTimeoutError(DscourseError):
    """``start()`` could not connect in time (kazoo's ``handler.timeout_exception``)."""


class LockTimeout(DscourseError):
    """``Lock.acquire(timeout=...)`` gave up (kazoo's ``LockTimeout``)."""


class ConnectionClosedError(SessionExpiredError):
    """The client was stopped (kazoo raises this subclass of SessionExpiredError)."""


# code -> class, for replies that carry an error code.
EXCEPTIONS: dict[int, type[ZookeeperError]] = {
    cls.code: cls for cls in (RolledBackError, RuntimeInconsistency, ConnectionLoss, BadArgumentsError,
                              NoNodeError, NoAuthError, BadVersionError, NoChildrenForEphemeralsError,
                              NodeExistsError, NotEmptyError, SessionExpiredError, InvalidACLError, AuthFailedError)
}
