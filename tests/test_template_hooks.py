"""Template classes whose recipe steps are abstract: a subclass that forgets one fails at
construction, with the missing method named, not mid-run inside a handler."""

from __future__ import annotations

import pytest

from dscourse.gossip.glomers import Batched, Flood, _Server
from dscourse.locks.clients import LockClient, NaiveLock, RedlockClient, RLockClient, TokenLock


@pytest.mark.parametrize(
    ("base", "hooks", "complete"),
    [
        (_Server, {"learn", "on_peer"}, [Flood, Batched]),
        (LockClient, {"acquire", "release"}, [NaiveLock, TokenLock, RLockClient, RedlockClient]),
    ],
)
def test_a_subclass_missing_a_hook_cannot_be_built(base, hooks, complete):
    assert base.__abstractmethods__ == frozenset(hooks)
    for name in hooks:
        partial = type("Partial", (base,), {h: lambda self, *a: None for h in hooks - {name}})
        with pytest.raises(TypeError, match=name):
            partial("n1")
    for cls in complete:
        assert not cls.__abstractmethods__, cls
