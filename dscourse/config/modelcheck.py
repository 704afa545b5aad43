"""Model checking the Nacos 1.x long poll: one client, two publishes, every interleaving.

Time is abstracted away (``ds.checkers.explore``): the two publish timers may fire between
any two deliveries, and a poll may be answered, time out or be lost in any order. The
invariant: the server never holds a poll whose MD5s are older than its latest release
(``NacosConfigServer.stale_holds``), which is what "no lost update" needs (Nacos 1.x
``LongPollingService``: the MD5s are compared when the poll arrives, not only on change events).
"""

from __future__ import annotations

from typing import Any

from ..checkers.explore import explore
from ..sim import Simulation
from .client import NacosClient
from .server import NacosConfigServer

KEY = "application.yaml"
MAX_REQUESTS = 6


def _system(compare_on_arrival: bool) -> Any:
    def build(seed: int) -> Simulation:
        sim = Simulation(seed=seed)
        server = sim.add_node(NacosConfigServer("server", compare_on_arrival=compare_on_arrival))
        sim.add_node(NacosClient("c0", "server", [KEY]))
        server.set_timer(1, "publish", (KEY, "v: 1"))
        server.set_timer(2, "publish", (KEY, "v: 2"))
        return sim
    return build


def never_parked_stale(sim: Simulation) -> bool:
    server: Any = sim.nodes["server"]
    return not server.stale_holds()


def bounded(sim: Simulation) -> bool:
    """Stop expanding once the client has sent ``MAX_REQUESTS`` requests (every timeout makes
    a new poll, so the space is otherwise infinite)."""
    client: Any = sim.nodes["c0"]
    return bool(client.rid > MAX_REQUESTS)


def check_long_poll(compare_on_arrival: bool = True, *, max_depth: int = 14, max_drops: int = 0,
                    max_states: int = 100_000) -> Any:
    """Explore the one-client, two-publish system; returns the explorer's result (``summary()``)."""
    return explore(_system(compare_on_arrival), {"never parked stale": never_parked_stale},
                   prunes=bounded, max_depth=max_depth, max_drops=max_drops, max_states=max_states)
