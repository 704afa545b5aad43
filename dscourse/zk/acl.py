"""ACLs on the server side: authentication providers, ``fixupACL`` and ``checkACL``.

What ZooKeeper 3.8 does (Programmer's Guide, "ZooKeeper access control using ACLs";
``PrepRequestProcessor.fixupACL``, ``ZooKeeperServer.checkACL``, ``FinalRequestProcessor``;
the ``DigestAuthenticationProvider`` and ``IPAuthenticationProvider``), as functions of plain
data: an ACL is a tuple of ``(perms, scheme, id)`` entries and a connection's identities are
``(scheme, id)`` pairs.

* A connection starts as ``("ip", its address)``; ``addauth digest user:password`` adds
  ``("digest", "user:" + base64(sha1("user:password")))`` (:func:`generate_digest`).
* :func:`fixup` validates and expands an ACL given at create or setACL: duplicates removed,
  ``world`` only as ``world:anyone``, ``auth`` replaced by every *authenticated* identity of the
  caller (digest, not ip), ids checked by their scheme's provider; else ``InvalidACLError``.
* :func:`check` is ``checkACL``: an empty ACL allows everything; otherwise some entry must
  carry one of the wanted bits and name the caller (``world:anyone``, an equal digest id, or an
  ip pattern ``addr[/bits]`` covering the address).
* :func:`permitted` says which node's ACL and which bit an operation needs: CREATE and DELETE
  on the **parent** (they change its child list), WRITE to setData, READ to getData,
  getChildren and a multi's check, ADMIN to setACL, READ or ADMIN to getACL; ``exists`` needs
  nothing. Only that one node's ACL counts: ACLs are not recursive.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import InvalidACLError, NoAuthError, NoNodeError

READ, WRITE, CREATE, DELETE, ADMIN, ALL = 1, 2, 4, 8, 16, 31
Entry = tuple[int, str, str]  # (perms, scheme, id)
OPEN: tuple[Entry, ...] = ((ALL, "world", "anyone"),)
READ_ONLY: tuple[Entry, ...] = ((READ, "world", "anyone"),)
AUTHENTICATED = ("digest",)  # ``isAuthenticated()``: the ip provider's identity proves nothing


def generate_digest(credential: str) -> str:
    """``DigestAuthenticationProvider.generateDigest``: ``user:password`` ->
    ``user:base64(sha1("user:password"))`` (the user is what precedes the first colon)."""
    user = credential.split(":", 1)[0]
    return f"{user}:{b64encode(hashlib.sha1(credential.encode()).digest()).decode('ascii')}"


def _java_split(text: str, sep: str) -> list[str]:
    """Java's ``String.split``: trailing empty strings are dropped."""
    parts = text.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def ipv4(addr: str) -> list[int] | None:
    """The four bytes of a dotted IPv4 address, or None (``IPAuthenticationProvider.v4addr2Bytes``)."""
    parts = addr.split(".")
    if len(parts) != 4:
        return None
    out = []
    for p in parts:
        if not p.isdigit() or int(p) > 255:
            return None
        out.append(int(p))
    return out


def _ip_pattern(expr: str) -> tuple[list[int], int] | None:
    addr, _, bits = expr.partition("/")
    raw = ipv4(addr)
    if raw is None:
        return None
    if not bits:
        return raw, 32
    if not bits.isdigit() or int(bits) > 32:
        return None
    return raw, int(bits)


def valid_id(scheme: str, id: str) -> bool:
    """Whether ``scheme`` has a provider and ``id`` is well formed for it (``isValid``)."""
    if scheme == "digest":
        return len(_java_split(id, ":")) == 2
    if scheme == "ip":
        return _ip_pattern(id) is not None
    return False


def _as_int(b: list[int]) -> int:
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


def matches(scheme: str, caller: str, pattern: str) -> bool:
    """Whether a caller's identity ``caller`` is named by the ACL id ``pattern``."""
    if scheme == "digest":
        return caller == pattern
    if scheme == "ip":
        parsed, addr = _ip_pattern(pattern), ipv4(caller)
        if parsed is None or addr is None:
            return False
        want, bits = parsed
        mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF
        return _as_int(addr) & mask == _as_int(want) & mask
    return False


def fixup(acl: Sequence[Entry], ids: Sequence[tuple[str, str]], path: str) -> tuple[Entry, ...]:
    """``fixupACL``: the ACL a create or setACL stores, or ``InvalidACLError``."""
    unique: list[Entry] = []
    for entry in acl:
        if tuple(entry) not in unique:
            unique.append(tuple(entry))  # type: ignore[arg-type]
    if not unique:
        raise InvalidACLError(path)
    out: list[Entry] = []
    for perms, scheme, id in unique:
        if scheme == "world" and id == "anyone":
            out.append((perms, scheme, id))
        elif scheme == "auth":
            mine = [(perms, s, i) for s, i in ids if s in AUTHENTICATED]
            if not mine:
                raise InvalidACLError(path)
            out += mine
        elif valid_id(scheme, id):
            out.append((perms, scheme, id))
        else:
            raise InvalidACLError(path)
    return tuple(out)


def check(acl: Sequence[Sequence[Any]], perm: int, ids: Sequence[Sequence[str]]) -> bool:
    """``checkACL``: may a caller with identities ``ids`` do what needs any bit of ``perm``?"""
    if not acl:
        return True
    for perms, scheme, id in acl:
        if not perms & perm:
            continue
        if scheme == "world" and id == "anyone":
            return True
        if any(s == scheme and matches(scheme, i, id) for s, i in ids):
            return True
    return False


def parent_of(path: str) -> str:
    i = path.rfind("/")
    return "/" if i == 0 else path[:i]


# Which node and which bits each operation needs.
NEEDS: dict[str, tuple[str, int]] = {
    "create": ("parent", CREATE), "delete": ("parent", DELETE), "setData": ("node", WRITE),
    "check": ("node", READ), "getData": ("node", READ), "getChildren": ("node", READ),
    "setACL": ("node", ADMIN), "getACL": ("node", READ | ADMIN),
}


def permitted(kind: str, path: str, acls: Mapping[str, Sequence[Sequence[Any]]],
              ids: Sequence[Sequence[str]]) -> bool:
    """May ``ids`` do ``kind`` on ``path``? ``acls`` maps ``path`` and each existing ancestor to
    its ACL; only the node :data:`NEEDS` names counts (no inheritance)."""
    which, perm = NEEDS[kind]
    target = parent_of(path) if which == "parent" else path
    return check(acls[target], perm, ids)


def lineage(nodes: Mapping[str, Any], path: str) -> dict[str, list[list[Any]]]:
    """``{p: acl}`` for ``path`` and each ancestor that exists, as plain lists."""
    out: dict[str, list[list[Any]]] = {}
    p = path
    while True:
        z = nodes.get(p)
        if z is not None:
            out[p] = [list(e) for e in z.acl]
        if p == "/":
            return out
        p = parent_of(p)


Permit = Callable[[str, str, Mapping[str, Any], Sequence[Sequence[str]]], bool]


def authorize(nodes: Mapping[str, Any], op: tuple, ids: Sequence[tuple[str, str]],
              allow: Permit = permitted, special: Sequence[str] = ()) -> tuple[Entry, ...] | None:
    """The ACL part of the leader's request check, in ``PrepRequestProcessor``'s order; raises
    ``InvalidACLError``, ``NoNodeError`` or ``NoAuthError``, and returns the fixed-up ACL of a
    create or setACL (None otherwise). Everything else (versions, NodeExists, ...) is checked
    after it by :func:`.datatree.prep`. ``allow`` decides permissions (exercise E7.4 swaps it)."""
    kind, path = op[0], op[1]
    if kind == "create":
        if path == "/":
            return None
        fixed = fixup(op[5] if len(op) > 5 else OPEN, ids, path)
        if parent_of(path) not in nodes:
            raise NoNodeError(parent_of(path))
    elif kind == "setACL":
        fixed = fixup(op[2], ids, path)
        if path not in nodes:
            raise NoNodeError(path)
    elif kind == "delete":
        if path in special:
            return None
        fixed = None
        if parent_of(path) not in nodes:
            raise NoNodeError(parent_of(path))
    elif kind in ("setData", "check"):
        if path not in nodes:
            return None
        fixed = None
    else:
        return None
    if not allow(kind, path, lineage(nodes, path), [list(i) for i in ids]):
        raise NoAuthError(path)
    return fixed


def redact(acl: Sequence[Entry]) -> tuple[Entry, ...]:
    """getACL without ADMIN: digest ids lose their hash (``user:x``, ZOOKEEPER-1392)."""
    return tuple((p, s, i.split(":", 1)[0] + ":x" if s == "digest" else i) for p, s, i in acl)
