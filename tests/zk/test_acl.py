"""ACLs in ``ds.zk``: the providers' rules as properties, kazoo's helpers, the client's checks.
The behaviour against a real server is in the conformance suite (the ``acl_`` cases)."""

from __future__ import annotations

import hashlib
import ipaddress
from base64 import b64encode

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dscourse as ds
from dscourse.zk import acl

names = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":"), min_size=1, max_size=12)
octets = st.lists(st.integers(0, 255), min_size=4, max_size=4).map(lambda b: ".".join(map(str, b)))


@given(names, st.text(max_size=20))
def test_digest_is_user_and_base64_sha1_of_the_credential(user: str, password: str) -> None:
    credential = f"{user}:{password}"
    want = user + ":" + b64encode(hashlib.sha1(credential.encode()).digest()).decode()
    assert acl.generate_digest(credential) == want == ds.zk.make_digest_acl_credential(user, password)
    assert acl.valid_id("digest", want)


@given(octets, octets, st.integers(0, 32))
def test_ip_pattern_matches_like_a_network(caller: str, net: str, bits: int) -> None:
    inside = ipaddress.IPv4Address(caller) in ipaddress.IPv4Network(f"{net}/{bits}", strict=False)
    assert acl.matches("ip", caller, f"{net}/{bits}") == inside
    assert acl.matches("ip", caller, net) == (caller == net)


def test_invalid_ids_are_refused() -> None:
    for scheme, id in (("digest", "alice"), ("digest", "alice:"), ("digest", "a:b:c"), ("ip", "1.2.3"),
                       ("ip", "1.2.3.256"), ("ip", "1.2.3.4/33"), ("ip", "1.2.3.4/x"), ("sasl", "bob")):
        assert not acl.valid_id(scheme, id), (scheme, id)
        with pytest.raises(ds.zk.InvalidACLError):
            acl.fixup([(31, scheme, id)], [], "/p")


@given(st.lists(st.sampled_from([(31, "world", "anyone"), (1, "world", "anyone"), (16, "ip", "10.0.0.1")]),
                min_size=1, max_size=6))
def test_fixup_removes_duplicates_in_order(entries: list) -> None:
    out = acl.fixup(entries, [], "/p")
    assert list(out) == list(dict.fromkeys(entries))


def test_auth_scheme_takes_only_authenticated_ids() -> None:
    ids = [("ip", "127.0.0.1"), ("digest", "alice:h1"), ("digest", "bob:h2")]
    assert acl.fixup([(5, "auth", "")], ids, "/p") == ((5, "digest", "alice:h1"), (5, "digest", "bob:h2"))
    with pytest.raises(ds.zk.InvalidACLError):
        acl.fixup([(5, "auth", "")], ids[:1], "/p")


@given(st.sampled_from(sorted(acl.NEEDS)), st.integers(0, 31), st.integers(0, 31))
def test_only_one_nodes_acl_counts(kind: str, node_perms: int, parent_perms: int) -> None:
    """CREATE and DELETE are checked on the parent, the rest on the node; the grandparent's ACL
    (which denies everything) never matters: ACLs are not recursive."""
    acls = {"/": [[0, "world", "anyone"]], "/a": [[parent_perms, "world", "anyone"]],
            "/a/b": [[node_perms, "world", "anyone"]]}
    which, perm = acl.NEEDS[kind]
    held = parent_perms if which == "parent" else node_perms
    assert acl.permitted(kind, "/a/b", acls, [["ip", "127.0.0.1"]]) == bool(held & perm)


def test_kazoo_helpers() -> None:
    a = ds.zk.make_digest_acl("alice", "pw", read=True, admin=True)
    assert a.perms == ds.zk.Permissions.READ | ds.zk.Permissions.ADMIN and a.acl_list == ["READ", "ADMIN"]
    assert a.id == ds.zk.Id("digest", ds.zk.make_digest_acl_credential("alice", "pw"))
    assert ds.zk.make_acl("ip", "10.0.0.0/8", all=True).acl_list == ["ALL"]
    assert ds.zk.OPEN_ACL_UNSAFE == [ds.zk.ACL(31, ds.zk.Id("world", "anyone"))]
    assert ds.zk.CREATOR_ALL_ACL == [ds.zk.ACL(31, ds.zk.Id("auth", ""))]


def test_same_names_and_values_as_kazoo() -> None:
    security = pytest.importorskip("kazoo.security", reason="kazoo is not installed: pip install kazoo")
    exceptions = pytest.importorskip("kazoo.exceptions")
    assert ds.zk.ACL._fields == security.ACL._fields and ds.zk.Id._fields == security.Id._fields
    assert ds.zk.make_digest_acl("u", "p", write=True) == security.make_digest_acl("u", "p", write=True)
    for name in ("READ", "WRITE", "CREATE", "DELETE", "ADMIN", "ALL"):
        assert getattr(ds.zk.Permissions, name) == getattr(security.Permissions, name)
    for name in ("NoAuthError", "InvalidACLError", "AuthFailedError"):
        assert getattr(ds.zk, name).code == getattr(exceptions, name).code


def test_client_checks_and_ip_identity() -> None:
    ens = ds.zk.ensemble(servers=3, seed=2)
    ens.run_until_leader()
    local = ens.client(session_timeout_ms=4000)
    remote = ens.client(session_timeout_ms=4000, ip="10.1.2.3")
    local.start()
    remote.start()
    with pytest.raises(TypeError, match="tuple/list of ACL"):
        local.create("/x", acl=ds.zk.make_acl("world", "anyone", all=True))
    with pytest.raises(TypeError, match="not an ACL"):
        local.set_acls("/", [(31, "world", "anyone")])
    with pytest.raises(ValueError, match="ip"):
        ens.client(ip="localhost")
    local.create("/lan", b"v", acl=[ds.zk.make_acl("ip", "10.0.0.0/8", read=True)])
    remote.sync("/lan")
    assert remote.get("/lan")[0] == b"v"
    with pytest.raises(ds.zk.NoAuthError):
        local.get("/lan")


def test_auth_is_sent_again_after_a_reconnect() -> None:
    """ZooKeeper authenticates connections: the client re-sends its credentials to the next server."""
    ens = ds.zk.ensemble(servers=3, seed=3)
    ens.run_until_leader()
    zk = ens.client(server="zk1", session_timeout_ms=6000, auth_data=[("digest", "alice:pw")])
    zk.start()
    zk.create("/secret", b"s", acl=[ds.zk.make_digest_acl("alice", "pw", all=True)])
    ens.sim.crash("zk1")
    ens.run_until(lambda: zk.connected and zk.server != "zk1", 30_000)
    assert zk.server != "zk1"
    assert zk.get("/secret")[0] == b"s"
