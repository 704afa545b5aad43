"""Small simulations for the viz tests: gossiping nodes under a random network and nemesis."""

from __future__ import annotations

import dscourse as ds


class Chatty(ds.sim.Node):
    """Every node pings a peer every few ms, answers pings, and announces roles."""

    def on_start(self) -> None:
        self.annotate(role="leader" if self.id == "n0" else "follower")
        self.set_timer(2, "tick")

    def on_recover(self) -> None:
        self.annotate(role="follower")
        self.set_timer(2, "tick")

    def on_timer(self, name, payload) -> None:
        peer = self.peers[int(self.rng.integers(len(self.peers)))]
        self.send(peer, {"type": "Ping", "n": int(self.rng.integers(100))})
        self.set_timer(2 + float(self.rng.random()) * 3, "tick")

    def on_message(self, src, msg) -> None:
        if msg["type"] == "Ping":
            self.send(src, {"type": "Pong", "n": msg["n"]})


def make_sim(seed: int, n: int = 3, drop: float = 0.1, duplicate: float = 0.1, nemesis: bool = True):
    sim = ds.sim.Simulation(seed=seed, network=ds.sim.Network(latency=ds.sim.Uniform(1, 6), drop=drop,
                                                              duplicate=duplicate))
    for i in range(n):
        sim.add_node(Chatty(f"n{i}"))
    if nemesis:
        sim.schedule_nemesis(sim.random_nemesis(until=60, mean_gap=8, mean_duration=10))
    return sim
