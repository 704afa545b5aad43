"""The store's configuration: N, R, W, timestamps, repair mechanisms; the CP and AP presets.

* ``n`` replicas hold each key: the first ``n`` nodes clockwise from the key's hash on a
  ring (consistent hashing, DeCandia et al. 2007, §4.2); ``r``/``w`` replies make a read /
  write quorum. ``R + W > N`` makes read and write quorums intersect, which is *not* enough
  for linearizability: a read may see a write that a later read misses (the fix is ABD's
  write-back).
* ``timestamps``: ``"lww"`` (the writer's clock, last writer wins) or ``"abd"`` (query a
  quorum for the highest tag first; Attiya, Bar-Noy & Dolev 1995, §3).
* ``write_back``: a read writes the value it returns back to a write quorum before
  returning (ABD's second read phase).
* ``sloppy``: when home replicas do not answer within ``sloppy_ms``, also use the next
  nodes on the ring, which keep the write as a *hint* for the missing home replica
  (sloppy quorum and hinted handoff, Dynamo §4.6). ``hint_window_ms`` bounds how long a
  hint is kept (cf. Cassandra's ``max_hint_window``); ``handoff_ms`` is how often a
  fallback retries delivering its hints.
* ``read_repair``: after a read, send the newest version to replicas that answered with an
  older one (including late answers). ``anti_entropy_ms``: every so often each replica
  compares a Merkle tree with a random peer (``merkle_depth``) and exchanges what differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigError, allowed

TIMESTAMPS = ("lww", "abd")
MODES = ("cp", "ap", "quorum")


def _positive(name: str, value: Any, none_ok: bool = False) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise allowed(name, value, "a positive number of ms" + (" or None (off)" if none_ok else ""))


@dataclass(frozen=True)
class Config:
    """See the module docstring. ``timeout_ms``: a client gives up on an operation after it."""

    n: int = 3
    r: int = 2
    w: int = 2
    timestamps: str = "lww"
    write_back: bool = False
    sloppy: bool = False
    sloppy_ms: float = 12.0
    read_repair: bool = False
    hinted_handoff: bool = True
    hint_window_ms: float = 10_000.0
    handoff_ms: float = 20.0
    anti_entropy_ms: float | None = None
    merkle_depth: int = 6
    timeout_ms: float = 60.0

    def __post_init__(self) -> None:
        for name in ("n", "r", "w"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise allowed(name, v, "an int >= 1")
        if self.r > self.n or self.w > self.n:
            raise ConfigError(f"r={self.r}, w={self.w} with n={self.n} is not allowed: "
                              "expected 1 <= r, w <= n")
        if self.timestamps not in TIMESTAMPS:
            raise allowed("timestamps", self.timestamps, " or ".join(map(repr, TIMESTAMPS)))
        for name in ("sloppy_ms", "hint_window_ms", "handoff_ms", "timeout_ms"):
            _positive(name, getattr(self, name))
        _positive("anti_entropy_ms", self.anti_entropy_ms, none_ok=True)
        if isinstance(self.merkle_depth, bool) or not isinstance(self.merkle_depth, int) \
                or not 0 <= self.merkle_depth <= 16:
            raise allowed("merkle_depth", self.merkle_depth, "an int from 0 to 16")

    def with_(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def preset(mode: str, replicas: int, **overrides: Any) -> Config:
    """``"cp"``: every key on all replicas, majority quorums, ABD tags and write-back.
    ``"ap"``: every key on all replicas, any one replica answers (R = W = 1), LWW, read repair.
    ``"quorum"``: Dynamo-style N = 3 (or fewer replicas), R = W = 2, LWW, no write-back."""
    if mode not in MODES:
        raise allowed("mode", mode, " or ".join(map(repr, MODES)))
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise allowed("replicas", replicas, "an int >= 1")
    majority = replicas // 2 + 1
    base: dict[str, Any]
    if mode == "cp":
        base = dict(n=replicas, r=majority, w=majority, timestamps="abd", write_back=True)
    elif mode == "ap":
        base = dict(n=replicas, r=1, w=1, timestamps="lww", read_repair=True)
    else:
        n = min(3, replicas)
        base = dict(n=n, r=n // 2 + 1, w=n // 2 + 1, timestamps="lww")
    base.update(overrides)
    return Config(**base)
