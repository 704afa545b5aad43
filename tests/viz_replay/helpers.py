"""Runs the player tests replay: Raft with a partition and a leader change, dueling Paxos."""

from __future__ import annotations

import json
import re

import dscourse as ds


def raft_partition_run(seed: int, crash: bool = False):
    """Five Raft servers: commands, the leader cut off with one follower (a new leader is
    elected on the majority side), more commands, an optional crash, then the partition heals."""
    c = ds.raft.cluster(n=5, seed=seed)
    c.run_until_leader()
    for i in range(3):
        c.submit(f"x={i}")
    c.run(300)
    old = c.leader()
    others = [s for s in c.ids if s != old]
    c.partition([old, others[0]], others[1:])
    c.submit("lost")
    c.run(1200)
    for i in range(2):
        c.submit(f"y={i}")
    if crash:
        c.crash(others[2])
    c.run(300)
    c.heal()
    if crash:
        c.recover(others[2])
    c.run(800)
    return c


def paxos_duel(seed: int):
    """Two proposers racing on three acceptors over a lossy network, run to a decision."""
    c = ds.paxos.cluster(acceptors=3, proposers=2, seed=seed, stagger_ms=1.0)
    c.run(400)
    return c


def embedded(html: str) -> dict:
    """The player's JSON model, read back out of its HTML."""
    m = re.search(r'<script type="application/json" class="dsp-data">(.*?)</script>', html, re.S)
    assert m is not None, "no embedded trace"
    return json.loads(m.group(1))
