"""Tiny systems with known state spaces for the explorer's tests (top level: picklable)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import dscourse as ds


@dataclass(frozen=True)
class Note:
    k: int


class Sender(ds.sim.Node):
    """Sends Note(0..k-1) to ``b`` at start."""

    def __init__(self, id, k):
        super().__init__(id)
        self.k = k

    def on_start(self):
        for i in range(self.k):
            self.send("b", Note(i))


class Collector(ds.sim.Node):
    """Remembers the set of notes received (a duplicate changes nothing)."""

    def __init__(self, id):
        super().__init__(id)
        self.got = frozenset()
        self.count = 0

    def on_message(self, src, msg):
        self.got = self.got | {msg.k}


class Counter(ds.sim.Node):
    """Counts every delivery, duplicates included."""

    def __init__(self, id):
        super().__init__(id)
        self.count = 0

    def on_message(self, src, msg):
        self.count += 1


def fan(seed, k=4, counting=False, network=None):
    sim = ds.sim.Simulation(seed=seed, network=network)
    sim.add_node(Sender("a", k))
    sim.add_node(Counter("b") if counting else Collector("b"))
    return sim


class Volatile(ds.sim.Node):
    """Sets a timer at start; its volatile flag is lost on a crash, its stable counter is not."""

    def __init__(self, id):
        super().__init__(id)
        self.flag = False

    def on_start(self):
        self.stable.setdefault("starts", 0)
        self.stable["starts"] += 1
        self.set_timer(5, "tick")

    def on_timer(self, name, payload):
        self.flag = True


def volatile(seed):
    sim = ds.sim.Simulation(seed=seed)
    sim.add_node(Volatile("v"))
    return sim


class Racer(ds.sim.Node):
    """``w`` receives Set(x) messages from two writers; the last write wins."""

    def __init__(self, id):
        super().__init__(id)
        self.value = None
        self.writes = 0

    def on_start(self):
        if self.id in ("p", "q"):
            self.send("w", Note(1 if self.id == "p" else 2))
            self.send("w", Note(3 if self.id == "p" else 4))

    def on_message(self, src, msg):
        self.value = msg.k
        self.writes += 1


def racers(seed, network=None):
    sim = ds.sim.Simulation(seed=seed, network=network)
    for n in ("p", "q", "w"):
        sim.add_node(Racer(n))
    return sim


class Gossip(ds.sim.Node):
    """Random chatter: timers with random delays, messages to random peers (uses ``rng``)."""

    def __init__(self, id):
        super().__init__(id)
        self.heard = []

    def on_start(self):
        self.stable.setdefault("boots", 0)
        self.stable["boots"] += 1
        self.set_timer(float(self.rng.uniform(1, 5)), "tick")

    def on_timer(self, name, payload):
        peers = self.peers
        dst = peers[int(self.rng.integers(len(peers)))]
        self.send(dst, {"type": "Rumor", "n": len(self.heard), "from": self.id})
        self.set_timer(float(self.rng.uniform(1, 5)), "tick")

    def on_message(self, src, msg):
        self.heard.append((src, msg["n"]))


def gossip(seed):
    sim = ds.sim.Simulation(seed=seed, network=ds.sim.lossy(drop=0.2, duplicate=0.1))
    for n in ("a", "b", "c"):
        sim.add_node(Gossip(n))
    return sim


def perturb(sim, ops):
    """Apply a list of op names deterministically (targets depend only on the sim's state)."""
    ids = list(sim.nodes)
    for i, op in enumerate(ops):
        nid = ids[i % len(ids)]
        status = sim.status(nid)
        if op == "step":
            sim.step()
        elif op == "crash" and status == "up":
            sim.crash(nid)
        elif op == "recover" and status == "crashed":
            sim.recover(nid)
        elif op == "pause" and status == "up":
            sim.pause(nid, 7)
        elif op == "partition":
            sim.partition([nid])
        elif op == "heal":
            sim.heal()
        elif op == "drop":
            pending = [p for p in sim.pending() if p.kind == "deliver"]
            if pending:
                sim.drop(pending[-1].id)
        elif op == "dup":
            pending = [p for p in sim.pending() if p.kind == "deliver"]
            if pending:
                sim.duplicate(pending[0].id)


class Meddler(ds.sim.Node):
    """Mutates the dict messages it receives and keeps them; a timer it may cancel; aliased
    lists (``log`` and ``view`` are one list); forwards to the next node."""

    def __init__(self, id):
        super().__init__(id)
        self.log = []
        self.view = self.log
        self.handle = None
        self.counts = {}

    def on_start(self):
        self.handle = self.set_timer(3, "nag", {"n": 0})
        if self.id == "m1":
            self.send("m2", {"hop": 0, "path": ["m1"]})
            self.send("m3", {"hop": 0, "path": ["m1"]})

    def on_message(self, src, msg):
        msg["path"].append(self.id)          # the receiver's own copy: no other state may see it
        msg["hop"] += 1
        self.log.append(tuple(msg["path"]))
        self.counts[src] = self.counts.get(src, 0) + 1
        if self.handle is not None and msg["hop"] % 2:
            self.cancel_timer(self.handle)
            self.handle = None
        if msg["hop"] < 3:
            peers = self.peers
            self.send(peers[msg["hop"] % len(peers)], msg)

    def on_timer(self, name, payload):
        payload["n"] += 1
        self.view.append(("nag", payload["n"]))
        if payload["n"] < 2:
            self.handle = self.set_timer(3, "nag", payload)


def meddlers(seed):
    sim = ds.sim.Simulation(seed=seed)
    for n in ("m1", "m2", "m3"):
        sim.add_node(Meddler(n))
    return sim


class Voter(ds.sim.Node):
    """Sends one Note to the tally at start."""

    def on_start(self):
        self.send("t", Note(1))


class Tally(ds.sim.Node):
    """Remembers who voted."""

    def __init__(self, id):
        super().__init__(id)
        self.voters = frozenset()

    def on_message(self, src, msg):
        self.voters = self.voters | {src}


def ballot_box(seed, k=3):
    sim = ds.sim.Simulation(seed=seed)
    sim.add_node(Tally("t"))
    for i in range(k):
        sim.add_node(Voter(f"v{i}"))
    return sim


class Picky(ds.sim.Node):
    """Checks, as library code may, that its ``rng`` is a numpy Generator, then draws."""

    def __init__(self, id):
        super().__init__(id)
        self.draws = ()

    def on_start(self):
        if self.id == "x":
            self.send("y", Note(0))

    def on_message(self, src, msg):
        if not isinstance(self.rng, np.random.Generator):
            raise TypeError(f"rng is {type(self.rng)}")
        self.draws = (*self.draws, int(self.rng.integers(3)))
        if msg.k < 3:
            self.send(src, Note(msg.k + 1))


def picky(seed):
    sim = ds.sim.Simulation(seed=seed, network=ds.sim.lossy(drop=0.1))
    sim.add_node(Picky("x"))
    sim.add_node(Picky("y"))
    return sim
