"""``ds.capstone.minimall(seed=...)``: MiniMall on one deterministic simulation.

Processes (a process is one or more simulated nodes that crash, pause and partition together):

==============  ===============================================  ==================================
process         nodes                                            from
==============  ===============================================  ==================================
``zk1..zk3``    a ZooKeeper ensemble (FLE + ZAB)                 Chapters 7-8, ``ds.zk.ensemble``
``config``      a Nacos config server                            Chapter 15, ``ds.config``
``gateway``     :class:`~.edge.EdgeGateway` + its ZooKeeper      Chapters 12, 13, 15
                client + its Nacos client
``order1..``    :class:`~.orders.OrderProvider` + its ZooKeeper  Chapter 12 (and the saga, Ch. 14)
                client (an ephemeral provider znode)
``leaf``        :class:`~.services.LeafServer`                   Chapter 10, Leaf-segment
``leafdb``      the ``leaf_alloc`` database                      Chapter 10
``redis``       the lock's Redis                                 Chapter 9
``inventory``   :class:`~.services.InventoryStore`               Chapter 9, fenced resource
``payment``     :class:`~.services.PaymentService` (SQLite)      Chapter 14, TCC
==============  ===============================================  ==================================

Shoppers ``u1..`` and the registry monitor are outside the system: the nemesis never touches
them. :class:`MiniMall` is the topic-standard object (``.sim``, ``.nodes``, ``run`` /
``run_until``) with the workload (:meth:`MiniMall.run_workload`), the combined nemesis
(:meth:`MiniMall.random_nemesis`, :meth:`MiniMall.schedule`) and the checks
(:meth:`MiniMall.check`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .. import zk as zookeeper
from ..config import NacosClient, NacosConfigServer
from ..errors import allowed
from ..history import Recorder
from ..ids import Issued
from ..notebook import default_seed
from ..redis import RedisServer
from ..rpc import Provider, ZookeeperRegistry, parse_provider_url, provider_url
from ..sim import Network, Simulation, Uniform, random_schedule
from ..sim.cluster import Cluster
from .edge import CONFIG_KEY, Dispatch, EdgeGateway, Shopper, default_config
from .invariants import CHECKS, INVARIANTS, RegistryMonitor, Verdict, money_conserved
from .orders import DEFENCES, OrderProvider, OrderService, OrderServiceBase, Settings
from .services import InventoryStore, LeafServer, PaymentService, leaf_database

PROVIDERS_PATH = "/dubbo/OrderService/providers"
#: the fault kinds of the combined nemesis (``ds.sim``'s vocabulary), plus message loss and
#: duplication on the application's links (``loss=``, ``duplicate=``)
NEMESIS_KINDS = ("partition", "crash", "pause", "clock_jump")
APP = ("gateway", "order", "leaf", "redis", "inventory", "payment")


class MiniMall(Cluster):
    """The built system (module docstring). Attributes: ``gateway``, ``providers`` (id ->
    :class:`~.orders.OrderProvider`), ``inventory``, ``payment``, ``leaf``, ``zk`` (the
    ensemble), ``shoppers``, ``history`` (:class:`ds.history.Recorder`), ``dispatches`` (the
    gateway's calls), ``issued`` (Leaf's ids), ``processes`` (process -> node ids),
    ``settings``, ``grace_ms``, ``schedule_log`` (every nemesis action applied, by process)."""

    def __init__(self, sim: Simulation, nodes: Mapping[str, Any], **parts: Any) -> None:
        super().__init__(sim, nodes)
        self.gateway: EdgeGateway = parts["gateway"]
        self.providers: dict[str, OrderProvider] = parts["providers"]
        self.inventory: InventoryStore = parts["inventory"]
        self.payment: PaymentService = parts["payment"]
        self.leaf: LeafServer = parts["leaf"]
        self.zk = parts["zk"]
        self.shoppers: dict[str, Shopper] = parts["shoppers"]
        self.history: Recorder = parts["history"]
        self.dispatches: list[Dispatch] = parts["dispatches"]
        self.issued: list[Issued] = parts["issued"]
        self.processes: dict[str, tuple[str, ...]] = parts["processes"]
        self.settings: Settings = parts["settings"]
        self.grace_ms: float = parts["grace_ms"]
        self.money_total: int = parts["money_total"]
        self.folder: Path = parts["folder"]
        self.config_server: NacosConfigServer = parts["config_server"]
        self.schedule_log: list[tuple[float, tuple[Any, ...]]] = []
        self.monitor = RegistryMonitor("monitor", mall=self)
        sim.add_node(self.monitor)

    # -- observation -----------------------------------------------------------------------------
    def registered(self) -> list[str] | None:
        """The order providers the ZooKeeper leader's tree holds now (None: no leader)."""
        leader = self.zk.leader()
        if leader is None:
            return None
        tree = self.zk.nodes[leader].tree
        if tree.exists(PROVIDERS_PATH) is None:
            return []
        children = tree.children(PROVIDERS_PATH)
        return sorted(parse_provider_url(unquote(c))[0].address for c in children)

    def live_providers(self) -> list[OrderProvider]:
        """The order providers not crashed now (a crashed one has only its ``stable`` storage)."""
        return [p for pid, p in self.providers.items() if self.up(pid)]

    @property
    def without(self) -> tuple[str, ...]:
        """The defences turned off."""
        return tuple(d for d in DEFENCES if not self.settings.on(d))

    def publish(self, percentage: float, at: float | None = None) -> None:
        """Publish a new gray percentage through the config center (now, or at time ``at``)."""
        content = default_config(percentage)
        if at is None:
            self.config_server.publish(CONFIG_KEY, content)
        else:
            self.config_server.set_timer(at - self.now, "publish", (CONFIG_KEY, content))

    # -- the nemesis -----------------------------------------------------------------------------
    def faultable(self) -> list[str]:
        """The processes the combined nemesis may hit."""
        return list(self.processes)

    def random_nemesis(self, until: float, *, start: float | None = None, kinds: Sequence[str] = NEMESIS_KINDS,
                       targets: Sequence[str] | None = None, mean_gap: float = 250.0,
                       mean_duration: float = 400.0,
                       max_clock_jump: float = 300.0) -> list[tuple[float, tuple[Any, ...]]]:
        """A combined schedule on processes from the simulation's ``"nemesis"`` stream (one fault
        at a time, each undone: Jepsen's composed nemesis). Pass it to :meth:`schedule`."""
        targets = list(targets) if targets is not None else self.faultable()
        for t in targets:
            self._check_process(t)
        return random_schedule(targets, self.sim.rng("nemesis"), start=self.now if start is None else start,
                               until=until, kinds=kinds, mean_gap=mean_gap, mean_duration=mean_duration,
                               max_clock_jump=max_clock_jump)

    def _check_process(self, p: str) -> None:
        if p not in self.processes:
            raise allowed("process", p, f"one of {', '.join(self.processes)}")

    def expand(self, schedule: Iterable[Sequence[Any]]) -> list[tuple[float, tuple[Any, ...]]]:
        """A schedule on processes as one on nodes (``ds.sim``'s nemesis runs that)."""
        out: list[tuple[float, tuple[Any, ...]]] = []
        outside = [*self.shoppers, self.monitor.id]
        for entry in schedule:
            if not isinstance(entry, (tuple, list)) or len(entry) < 2:
                raise allowed("nemesis entry", entry, '(time_ms, action), e.g. (500, ("pause", "order1", 800))')
            t, *rest = entry
            action = tuple(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else tuple(rest)
            name, args = action[0], action[1:]
            if name == "partition":
                groups = [[n for p in g for n in self._nodes_of(p)] for g in args[0]]
                side = next((g for g in groups if "gateway" in g), groups[0])
                side.extend(outside)
                out.append((t, ("partition", groups)))
            elif name in ("heal",):
                out.append((t, action))
            elif name in ("crash", "recover", "pause", "clock_jump"):
                out.extend((t, (name, n, *args[1:])) for n in self._nodes_of(args[0]))
            else:
                raise allowed("nemesis action", name, "partition, heal, crash, recover, pause or clock_jump")
        return out

    def _nodes_of(self, process: str) -> tuple[str, ...]:
        self._check_process(process)
        return self.processes[process]

    def schedule(self, schedule: Iterable[Sequence[Any]]) -> None:
        """Queue a nemesis schedule on processes (absolute times in ms)."""
        entries = [tuple(e) for e in schedule]
        self.sim.schedule_nemesis(self.expand(entries))
        self.schedule_log.extend((float(e[0]), tuple(e[1:]) if len(e) > 2 else tuple(e[1])) for e in entries)

    # -- running -----------------------------------------------------------------------------------
    def done(self) -> bool:
        """Every shopper has finished its purchases."""
        return all(s.k >= s.orders for s in self.shoppers.values())

    def run_workload(self, timeout: float = 60_000, quiet_ms: float = 8_000) -> MiniMall:
        """Run until every shopper is done (or ``timeout``), then ``quiet_ms`` more with no new
        work: the time the sagas, sessions and watches get to settle (the GST of the checks)."""
        self.run_until(self.done, timeout)
        self.run(quiet_ms)
        return self

    def check(self, quiet: bool = True) -> dict[str, Verdict]:
        """Every invariant's :class:`~.invariants.Verdict`. ``quiet``: the system has settled, so
        money may no longer be held in reservations."""
        return {name: money_conserved(self, quiet) if name == "money_conserved" else CHECKS[name](self)
                for name in INVARIANTS}

    def ok(self) -> bool:
        return all(v.ok for v in self.check().values())

    def digest(self) -> str:
        return self.sim.trace.digest()

    def summary(self) -> dict[str, Any]:
        """Counts for a table: purchases, answers, order states, faults."""
        states: dict[str, int] = {}
        for p in self.live_providers():
            for s in p.service.states().values():
                states[s] = states.get(s, 0) + 1
        outcomes: dict[str, int] = {}
        for e in self.history.events:
            if e.type != "invoke":
                outcomes[e.type] = outcomes.get(e.type, 0) + 1
        return {"purchases": outcomes, "orders": dict(sorted(states.items())),
                "calls": len(self.dispatches), "faults": len(self.schedule_log)}

    def close(self) -> None:
        """Close the payment database and remove the temporary folder."""
        self.payment.account.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _defences(without: Iterable[str]) -> frozenset[str]:
    if isinstance(without, str):
        without = (without,)
    off = tuple(without)
    for d in off:
        if d not in DEFENCES:
            raise allowed("defence", d, f"one of {', '.join(DEFENCES)}")
    return frozenset(DEFENCES) - frozenset(off)


def minimall(seed: int | None = None, *, order_service: type[OrderServiceBase] = OrderService,
             without: Iterable[str] = (), providers: int = 2, users: int = 8, orders: int = 3,
             stock: dict[str, int] | None = None, balance: int = 60, gray: float = 30.0,
             session_timeout_ms: int = 2_000, loss: float = 0.0, duplicate: float = 0.0,
             lease_ms: float = 150.0, think_ms: float = 400.0) -> MiniMall:
    """Build MiniMall on one simulation (module docstring) and run it until the gateway has its
    routes and providers; shoppers then start buying.

    ``order_service``: the class every order provider runs (a subclass of
    :class:`~.orders.OrderServiceBase`, the plug point); ``without``: defences to turn off
    (:data:`~.orders.DEFENCES`); ``users`` shoppers with ``balance`` each buy ``orders`` times;
    ``stock`` per item; ``gray`` the gray-release percentage; ``loss``/``duplicate`` the
    probabilities on the application's links (message loss and duplication).
    """
    if not (isinstance(order_service, type) and issubclass(order_service, OrderServiceBase)):
        raise allowed("order_service", order_service, "a subclass of ds.capstone.OrderServiceBase")
    for what, v, lo, hi in (("providers", providers, 1, 6), ("users", users, 1, 64), ("orders", orders, 0, 50),
                            ("balance", balance, 0, 10**6)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise allowed(what, v, f"an int from {lo} to {hi}")
    stock = dict(stock) if stock is not None else {"book": 6, "pen": 8}
    if not stock or any(not isinstance(k, str) or isinstance(n, bool) or not isinstance(n, int) or n < 0
                        for k, n in stock.items()):
        raise allowed("stock", stock, 'a dict {item: units >= 0}, e.g. {"book": 6}')
    settings = Settings(prices={k: {"book": 10, "pen": 3}.get(k, 5) for k in stock}, lease_ms=lease_ms,
                        defences=_defences(without))
    seed = default_seed(seed)
    # FIFO: every link is a TCP connection (RPC, Redis, JDBC; ds.zk makes its own FIFO anyway);
    # loss and duplication are set on the application's links below
    sim = Simulation(seed, network=Network(latency=Uniform(1.0, 3.0), fifo=True))
    ens = zookeeper.ensemble(3, sim=sim, options=zookeeper.ZKOptions(tick_ms=500))
    ens.run_until_leader()
    folder = Path(tempfile.mkdtemp(prefix="minimall-"))
    issued: list[Issued] = []
    dispatches: list[Dispatch] = []
    history = Recorder(sim)
    accounts = {f"u{i}": balance for i in range(1, users + 1)} | {settings.merchant: 0}
    parts: dict[str, Any] = {
        "redis": RedisServer("redis"),
        "leafdb": leaf_database(),
        "leaf": LeafServer("leaf", sink=issued),
        "inventory": InventoryStore("inventory", stock=stock, fencing=settings.on("fencing")),
        "payment": PaymentService("payment", path=folder / "payment.db", balances=accounts),
        "config_server": NacosConfigServer("config"),
    }
    for node in parts.values():
        sim.add_node(node)
    parts["config_server"].publish(CONFIG_KEY, default_config(gray))
    processes: dict[str, tuple[str, ...]] = {z: (z,) for z in ens.nodes}
    processes |= {n: (n,) for n in ("config", "leaf", "leafdb", "redis", "inventory", "payment")}
    provider_nodes: dict[str, OrderProvider] = {}
    for i in range(1, providers + 1):
        address = f"order{i}:20880"
        client = ens.client(session_timeout_ms=session_timeout_ms, record=False)
        client.start()
        url = provider_url(Provider(address), "OrderService", order_service.methods)
        path = ZookeeperRegistry(client).register("OrderService", url)
        node = OrderProvider(address, settings=settings, service=order_service, zk=client, znode=path)
        sim.add_node(node)
        provider_nodes[node.id] = node
        processes[f"order{i}"] = (client.id, node.id)   # the client first: it is rebuilt before its user
    gw_client = None
    if settings.on("registry_watch"):
        gw_client = ens.client(session_timeout_ms=session_timeout_ms, record=False)
        gw_client.start()
    gateway = EdgeGateway("gateway", zk=gw_client, static=tuple(provider_nodes), dispatches=dispatches,
                          stable_gray=settings.on("stable_gray"))
    sim.add_node(gateway)
    cfg = NacosClient("gateway-cfg", "config", [CONFIG_KEY], listeners=[gateway.on_config])
    sim.add_node(cfg)
    processes["gateway"] = ((gw_client.id,) if gw_client is not None else ()) + (cfg.id, "gateway")
    sim.run_until(lambda: gateway.rule is not None and bool(gateway.providers) and gateway.fresh, 30_000)
    app = [n for p, ns in processes.items() if p.startswith(APP) for n in ns if not n.startswith("zk")]
    if loss or duplicate:
        for a in app:
            for b in app:
                if a != b:
                    sim.set_link(a, b, drop=loss, duplicate=duplicate)
    shoppers = {}
    for i in range(1, users + 1):
        s = Shopper(f"u{i}", history=history, orders=orders, items=tuple(stock), think_ms=think_ms)
        sim.add_node(s)
        shoppers[s.id] = s
    nodes = {n.id: n for n in sim.nodes.values()}
    return MiniMall(sim, nodes, gateway=gateway, providers=provider_nodes, inventory=parts["inventory"],
                    payment=parts["payment"], leaf=parts["leaf"], zk=ens, shoppers=shoppers, history=history,
                    dispatches=dispatches, issued=issued, processes=processes, settings=settings,
                    grace_ms=float(session_timeout_ms), money_total=sum(accounts.values()), folder=folder,
                    config_server=parts["config_server"])
