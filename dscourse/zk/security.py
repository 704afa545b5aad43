"""kazoo's ACL vocabulary (``kazoo.security``): :class:`Id`, :class:`ACL`, :class:`Permissions`,
the digest credential, and the common ACL lists, with kazoo's names and return values.

An ACL entry pairs a permission bit set with an identity ``Id(scheme, id)`` (ZooKeeper
Programmer's Guide, "ZooKeeper access control using ACLs"): ``world:anyone``; ``digest``
``user:base64(sha1("user:password"))``; ``ip`` an address or ``addr/bits``; ``auth``, which the
server replaces by the creator's authenticated identities. Both classes are named tuples with
kazoo's fields, so an ACL built here is accepted by a real kazoo client and the other way round.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode
from typing import NamedTuple


class Id(NamedTuple):
    """An identity: ``scheme`` (world, digest, ip, auth) and ``id``."""

    scheme: str
    id: str


class Permissions:
    """ZooKeeper's permission bits (``ZooDefs.Perms``)."""

    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


_NAMES = (("READ", Permissions.READ), ("WRITE", Permissions.WRITE), ("CREATE", Permissions.CREATE),
          ("DELETE", Permissions.DELETE), ("ADMIN", Permissions.ADMIN))


class ACL(NamedTuple):
    """One ACL entry: ``perms`` (a :class:`Permissions` bit set) granted to ``id``."""

    perms: int
    id: Id

    @property
    def acl_list(self) -> list[str]:
        """The permission names (``["ALL"]`` when every bit is set), as kazoo's."""
        if self.perms & Permissions.ALL == Permissions.ALL:
            return ["ALL"]
        return [name for name, bit in _NAMES if self.perms & bit]

    def __repr__(self) -> str:
        return f"ACL(perms={self.perms!r}, acl_list={self.acl_list}, id={self.id!r})"


ANYONE_ID_UNSAFE = Id("world", "anyone")
AUTH_IDS = Id("auth", "")
OPEN_ACL_UNSAFE = [ACL(Permissions.ALL, ANYONE_ID_UNSAFE)]
CREATOR_ALL_ACL = [ACL(Permissions.ALL, AUTH_IDS)]
READ_ACL_UNSAFE = [ACL(Permissions.READ, ANYONE_ID_UNSAFE)]


def make_digest_acl_credential(username: str, password: str) -> str:
    """``user:base64(sha1("user:password"))``, the id a digest ACL names (UTF-8, as kazoo's;
    ZooKeeper's ``DigestAuthenticationProvider.generateDigest`` computes the same)."""
    raw = f"{username}:{password}".encode()
    return f"{username}:{b64encode(hashlib.sha1(raw).digest()).decode('ascii')}"


def make_acl(scheme: str, credential: str, read: bool = False, write: bool = False, create: bool = False,
             delete: bool = False, admin: bool = False, all: bool = False) -> ACL:  # noqa: A002 - kazoo's keyword
    """An :class:`ACL` for ``Id(scheme, credential)`` with the permissions asked for."""
    if all:
        perms = Permissions.ALL
    else:
        flags = (read, write, create, delete, admin)
        perms = sum(bit for (_, bit), on in zip(_NAMES, flags, strict=True) if on)
    return ACL(perms, Id(scheme, credential))


def make_digest_acl(username: str, password: str, read: bool = False, write: bool = False, create: bool = False,
                    delete: bool = False, admin: bool = False, all: bool = False) -> ACL:  # noqa: A002 - kazoo's keyword
    """A digest :class:`ACL` for ``username``/``password`` (the password is hashed here)."""
    return make_acl("digest", make_digest_acl_credential(username, password), read, write, create, delete,
                    admin, all)


__all__ = ["ACL", "ANYONE_ID_UNSAFE", "AUTH_IDS", "CREATOR_ALL_ACL", "OPEN_ACL_UNSAFE", "READ_ACL_UNSAFE", "Id",
           "Permissions", "make_acl", "make_digest_acl", "make_digest_acl_credential"]
