"""Link models, distributions and presets; labrpc statistics checked against a Hoeffding bound.

For n independent Bernoulli(p) trials, Hoeffding gives P(|k/n - p| >= eps) <= 2 exp(-2 n eps^2);
with eps = sqrt(ln(2 / delta) / (2 n)) and delta = 1e-9 a correct kernel fails a check with
probability below one in a billion (and never, for these fixed seeds), while a wrong rate
(e.g. 20% loss instead of 10%) fails it for any seed.
"""

from __future__ import annotations

import math

import pytest

import dscourse as ds
from dscourse.sim import Constant, Exponential, LogNormal, Node, Pareto, Uniform, UniformInt
from dscourse.sim.rng import Uniforms, stream

DELTA = 1e-9


def tolerance(n: int) -> float:
    return math.sqrt(math.log(2 / DELTA) / (2 * n))


class Client(Node):
    def __init__(self, id, n):
        super().__init__(id)
        self.n = n

    def on_start(self):
        for i in range(self.n):
            self.send("server", {"type": "Get", "i": i})


class Server(Node):
    def on_message(self, src, msg):
        self.send(src, {"type": "GetReply", "i": msg["i"]})


def test_labrpc_unreliable_statistics():
    n = 20_000
    sim = ds.sim.Simulation(seed=11, network=ds.sim.labrpc_unreliable())
    sim.add_node(Client("client", n))
    sim.add_node(Server("server"))
    sim.run()
    sends = {e.msg_id: e for e in sim.trace.filter(kind="send")}
    drops = sim.trace.filter(kind="drop")
    requests_dropped = sum(1 for d in drops if d.label == "Get")
    replies_sent = sum(1 for s in sends.values() if s.label == "GetReply")
    replies_dropped = sum(1 for d in drops if d.label == "GetReply")
    assert abs(requests_dropped / n - 0.1) < tolerance(n)
    assert replies_sent == n - requests_dropped
    assert abs(replies_dropped / replies_sent - 0.1) < tolerance(replies_sent)
    delays = {"Get": [], "GetReply": []}
    for e in sim.trace.filter(kind="deliver"):
        delays[e.label].append(e.time - sends[e.msg_id].time)
    assert set(delays["Get"]) == {1000 * k for k in range(27)}  # rand.Int() % 27 ms
    long = [d for d in delays["GetReply"] if d >= 200_000]
    assert abs(len(long) / len(delays["GetReply"]) - 2 / 3) < tolerance(len(delays["GetReply"]))
    assert max(long) <= (26 + 200 + 2000) * 1000


def test_loss_and_duplication_rates_of_lossy():
    n = 20_000
    sim = ds.sim.Simulation(seed=2, network=ds.sim.lossy(drop=0.3, duplicate=0.2))
    sim.add_node(Client("client", n))
    sim.add_node(Server("server"))
    sim.run(until=1)  # only the requests
    stats = sim.trace.stats()
    assert abs(stats["drop_reasons"]["loss"] / n - 0.3) < tolerance(n)
    kept = n - stats["dropped"]
    assert abs(stats["duplicated"] / kept - 0.2) < tolerance(kept)


@pytest.mark.parametrize("dist,quantile,p", [
    (Uniform(2, 6), 3.0, 0.25),
    (UniformInt(0, 9), 4.5, 0.5),
    (Exponential(4.0, shift=1.0), 1.0 + 4.0 * math.log(2), 0.5),
    (LogNormal(5.0, 0.8), 5.0, 0.5),
    (Pareto(2.0, 3.0), 2.0 * 2 ** (1 / 3), 0.5),
    (ds.sim.LabrpcLongDelay(), 200.0 + 1 + 1e-9, None),
])
def test_distributions_match_their_cdf(dist, quantile, p):
    n = 20_000
    u = Uniforms(stream(1, f"test:{dist!r}"))
    xs = [dist.sample(u) for _ in range(n)]
    assert min(xs) >= 0
    if p is not None:
        below = sum(x < quantile for x in xs) / n
        assert abs(below - p) < tolerance(n)
    else:  # LabrpcLongDelay: P(X <= 201) = P(inner <= 1 draw) ... just check the support
        assert 200 <= min(xs) and max(xs) <= 2199 and all(x == int(x) for x in xs)


def test_constant_slow_and_fifo():
    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(latency=Constant(2), slow=2.5))
    sim.add_node(Client("client", 3))
    sim.add_node(Server("server"))
    sim.run()
    assert {e.time for e in sim.trace.filter(kind="deliver", node="server")} == {5000}

    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(latency=Exponential(10), fifo=True))
    sim.add_node(Client("client", 500))
    sim.add_node(Server("server"))
    sim.run()
    got = [e.data["i"] for e in sim.trace.filter(kind="deliver", node="server")]
    assert got == list(range(500))
    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(latency=Exponential(10)))
    sim.add_node(Client("client", 500))
    sim.add_node(Server("server"))
    sim.run()
    got = [e.data["i"] for e in sim.trace.filter(kind="deliver", node="server")]
    assert got != list(range(500)) and sorted(got) == list(range(500))


def test_extreme_probabilities():
    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(drop=1.0))
    sim.add_node(Client("client", 50))
    sim.add_node(Server("server"))
    sim.run()
    assert not sim.trace.filter(kind="deliver")
    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(duplicate=1.0))
    sim.add_node(Client("client", 50))
    sim.add_node(Server("server"))
    sim.run()
    # 50 requests delivered twice each; the server answers all 100, each reply twice
    assert sim.trace.stats()["delivered"] == 100 + 200


def test_presets_and_is_reply():
    assert ds.sim.reliable().fifo and ds.sim.reliable().drop == 0
    assert ds.sim.lossy().drop == 0.1 and not ds.sim.lossy().fifo
    lab = ds.sim.labrpc_unreliable()
    assert (lab.drop, lab.long_reorder, lab.latency) == (0.1, 2 / 3, UniformInt(0, 26))
    assert ds.sim.labrpc_unreliable(long_reordering=False).long_reorder == 0
    assert ds.sim.is_reply("AppendEntriesReply", None) and ds.sim.is_reply("read_ok", {})
    assert ds.sim.is_reply("x", {"in_reply_to": 3}) and not ds.sim.is_reply("Get", {})


class Receiver(Node):
    """Keeps what it received in ``got``."""

    def __init__(self, id):
        super().__init__(id)
        self.got = []


def test_receivers_get_private_copies_of_mutable_messages():
    class Mutator(Receiver):
        def on_start(self):
            if self.id == "a":
                box = {"type": "Box", "items": [1]}
                self.send("b", box)
                self.send("c", box)
                box["items"].append(2)  # after sending: nobody may see this

        def on_message(self, src, msg):
            self.got.append(list(msg["items"]))
            msg["items"].append(self.id)  # a receiver scribbling on its copy

    sim = ds.sim.Simulation(seed=1, network=ds.sim.Network(duplicate=1.0))
    for n in "abc":
        sim.add_node(Mutator(n))
    sim.run()
    assert sim.nodes["b"].got == [[1], [1]] and sim.nodes["c"].got == [[1], [1]]
    assert all(e.data["items"] == [1] for e in sim.trace.filter(kind="deliver"))


@pytest.mark.parametrize("duplicate", [0.0, 1.0])
def test_a_handed_over_message_skips_the_private_copy_but_not_the_duplicates(duplicate):
    """``Node._hand_over`` (the grading proxy's freshly decoded messages): the receiver gets the
    very object sent, the trace keeps its own rendering, and a duplicate is still a copy."""
    sent: list = []

    class Giver(Receiver):
        def on_start(self):
            if self.id == "a":
                box = {"type": "Box", "items": [1]}
                sent.append(box)
                self._hand_over("b", box)
                self.send("b", {"type": "Box", "items": [9]})      # a plain send: copied

        def on_message(self, src, msg):
            self.got.append(msg)
            msg["items"].append("seen")

    sim = ds.sim.Simulation(seed=3, network=ds.sim.Network(duplicate=duplicate))
    for n in "ab":
        sim.add_node(Giver(n))
    sim.run()
    got = sim.nodes["b"].got
    handed = [m for m in got if m["items"][0] == 1]
    assert len(handed) == (2 if duplicate else 1) and len(got) == 2 * len(handed)
    assert sum(m is sent[0] for m in got) == 1                 # one delivery is the object itself
    assert all(m["items"] == [1, "seen"] for m in handed)     # the copy did not see the other's write
    assert all(e.data["items"] in ([1], [9]) for e in sim.trace.filter(kind="deliver"))


def test_a_handed_over_message_goes_through_a_send_the_harness_installed():
    """Harnesses wrap a node's ``send`` on the instance (Chapter 3's clocks, E4.5's unwrap):
    ``_hand_over`` must not go around them."""
    seen: list = []

    class Giver(Receiver):
        def on_start(self):
            if self.id == "a":
                self._hand_over("b", {"type": "Box", "items": [1]})

        def on_message(self, src, msg):
            self.got.append(msg)

    sim = ds.sim.Simulation(seed=3)
    a, b = Giver("a"), Giver("b")
    real = a.send
    a.__dict__["send"] = lambda dst, msg: seen.append(msg) or real(dst, {**msg, "wrapped": True})
    sim.add_node(a)
    sim.add_node(b)
    sim.run()
    assert seen == [{"type": "Box", "items": [1]}]
    assert b.got == [{"type": "Box", "items": [1], "wrapped": True}]
