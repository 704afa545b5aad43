"""Named random streams derived from the simulation seed (curriculum §1.1, item 2).

``stream(seed, name)`` is a :class:`numpy.random.Generator` seeded by
``SeedSequence(seed, spawn_key=blake2b(name))``: the stream depends only on the seed and
the name, never on how many other streams exist or the order they were created in, so adding
a node or a client never perturbs another component's draws. The name is hashed with BLAKE2b
(stable across processes), never with Python's salted ``hash()``.

Conventional names: ``"node:<id>"`` (a node's ``rng``), ``"net:<src>-><dst>"`` (one stream
per directed link, so traffic on one link does not shift the fate of messages on another),
``"nemesis"`` (random fault schedules).
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import allowed


def spawn_key(name: str) -> tuple[int, ...]:
    """Four 32-bit words of BLAKE2b(name), the SeedSequence spawn key for stream ``name``."""
    if not isinstance(name, str) or not name:
        raise allowed("stream name", name, "a non-empty str")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def check_seed(seed: object) -> int:
    """Return ``seed`` if it is a non-negative int, else raise a ConfigError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise allowed("seed", seed, "a non-negative int")
    return int(seed)


def stream(seed: int, name: str) -> np.random.Generator:
    """A fresh generator for ``(seed, name)``; equal inputs give equal streams in any process."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(check_seed(seed), spawn_key=spawn_key(name))))


class Uniforms:
    """Buffered U[0, 1) draws from one generator (a block of doubles at a time, for speed).

    Only :mod:`numpy`'s ``random()`` is used: its bit stream is stable across numpy versions,
    unlike the algorithms behind its named distributions, which :mod:`.dist` therefore
    implements by inverse transform.
    """

    __slots__ = ("_gen", "_buf", "_i", "_block")

    def __init__(self, gen: np.random.Generator, block: int = 256) -> None:
        self._gen = gen
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        buf = self._buf
        if i >= len(buf):
            buf = self._buf = self._gen.random(self._block).tolist()
            i = 0
        self._i = i + 1
        return buf[i]
