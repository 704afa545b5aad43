"""Observers against followers in a second datacenter: what each costs writes and buys reads.

Three voting servers ``zk1``-``zk3`` sit in one datacenter (LAN links); ``extra`` more servers
go in a second one, a WAN hop away, either as followers (voters) or as observers. Closed-loop
clients in the first datacenter write one znode; one client in the second reads it. The
local servers start with a longer log (a no-op transaction, :class:`~.ensemble.Ensemble`'s
``preset``), so FastLeaderElection picks a local leader, as an operator would by placement.

What it shows (ZooKeeper Observers guide; Hunt et al. 2010, §5): a write commits once a
majority of the *voters* has ACKed it, so remote followers slow every write as soon as the
majority needs one of them (with three local voters, from the third remote follower on),
while observers never vote and leave writes alone however many there are. Both kinds serve
reads from their own copy, so the remote datacenter reads locally with either (seed erratum E4:
both also accept writes and forward them to the leader). Reads are ZooKeeper's ordinary reads,
not linearizable (Chapter 7).

The simulator has no CPU or bandwidth limits, so the other cost of a voter -- the leader's work
per learner, which ZooKeeper's paper measures on one LAN -- is not modelled here; an observer
costs the leader a packet per write too (INFORM). The figure is
:func:`.labs.second_datacenter_figure`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import allowed
from ..sim import Constant, reliable
from .ensemble import ensemble
from .errors import KazooTimeoutError
from .server import ZKServer

ROLES = ("follower", "observer")


@dataclass(frozen=True)
class Placement:
    """One run: ``extra`` servers in the second datacenter as ``role``; writes committed per
    second of virtual time and their median latency, the remote client's median read latency,
    and the leader."""

    role: str
    extra: int
    writes_per_s: float
    write_ms: float
    remote_read_ms: float
    leader: str


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def second_datacenter(extra: int, role: str, *, seed: int = 1, lan_ms: float = 1.0, wan_ms: float = 40.0,
                      writers: int = 3, duration_ms: float = 2_000.0,
                      server_class: type[ZKServer] = ZKServer) -> Placement:
    """One run with ``extra`` servers (0-5) in the second datacenter as ``role`` ("follower"
    or "observer"); see the module docstring."""
    if isinstance(extra, bool) or not isinstance(extra, int) or not 0 <= extra <= 5:
        raise allowed("extra", extra, "an int from 0 to 5 (servers in the second datacenter)")
    if role not in ROLES:
        raise allowed("role", role, f"one of {ROLES}")
    for name, v in (("lan_ms", lan_ms), ("wan_ms", wan_ms), ("duration_ms", duration_ms)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise allowed(name, v, "a positive number of ms")
    if isinstance(writers, bool) or not isinstance(writers, int) or not 1 <= writers <= 20:
        raise allowed("writers", writers, "an int from 1 to 20")
    voters, observers = (3 + extra, 0) if role == "follower" else (3, extra)
    ens = ensemble(servers=voters, observers=observers, seed=seed, network=reliable(float(lan_ms)),
                   server_class=server_class, preset={f"zk{i}": (1, 1) for i in (1, 2, 3)})
    remote = {f"zk{i}" for i in range(4, 4 + extra)}

    def place(node: str, far: set[str]) -> None:
        """``node``'s links to and from the other datacenter's servers cross the WAN."""
        for server in ens.nodes:
            if server != node and (server in far) != (node in far):
                ens.sim.set_link(node, server, latency=Constant(float(wan_ms)))
                ens.sim.set_link(server, node, latency=Constant(float(wan_ms)))

    for server in remote:
        place(server, remote)
    leader = ens.run_until_leader()
    if leader is None:
        raise RuntimeError(f"no leader elected with {extra} remote {role}s (seed {seed})")
    clients = [ens.client(server=f"zk{1 + i % 3}", record=False) for i in range(writers)]
    reader = ens.client(server=min(remote) if remote else "zk1", record=False)
    place(reader.id, remote | {reader.id})
    try:
        for zk in [*clients, reader]:
            zk.start()
    except KazooTimeoutError:
        raise RuntimeError(f"with {extra} remote {role}s (seed {seed}) no client could open a session: "
                           "a session is a transaction, so nothing was ever committed") from None
    clients[0].create("/k", b"0")
    end = ens.now + duration_ms
    writes: list[float] = []
    reads: list[float] = []

    def loop(call: Callable[[], Any], done: list[float]) -> None:
        start = ens.now

        def finished(result: Any) -> None:
            if result.successful():
                done.append(ens.now - start)
            if ens.now < end:
                loop(call, done)
        call().rawlink(finished)

    for zk in clients:
        loop(functools.partial(zk.set_async, "/k", b"x"), writes)
    loop(functools.partial(reader.get_async, "/k"), reads)
    ens.sim.run_until(lambda: ens.now >= end, duration_ms + 1_000)
    return Placement(role, extra, len(writes) * 1000.0 / duration_ms, _median(writes), _median(reads), leader)


def sweep(extras: Iterable[int] = range(5), **options: Any) -> list[Placement]:
    """:func:`second_datacenter` for each number of extra servers, as followers and as observers."""
    return [second_datacenter(k, role, **options) for role in ROLES for k in extras]


def table(placements: list[Placement]) -> str:
    """The sweep as text, one line per run."""
    lines = [f"{'role':<9} {'added':>5} {'writes/s':>9} {'write p50':>10} {'remote read p50':>16}  leader"]
    for p in placements:
        lines.append(f"{p.role:<9} {p.extra:>5} {p.writes_per_s:>9.1f} {p.write_ms:>8.1f}ms "
                     f"{p.remote_read_ms:>14.1f}ms  {p.leader}")
    return "\n".join(lines)
