"""E15.3's harness: a gray-release router, one instance per process, routed by stable hashing.

The student writes a node class (a gateway or config-service instance) with one method the
harness calls, ``route(clients, key, releases) -> [release_key, ...]``:

* ``clients`` is a list of ``[client_id, ip, labels]``;
* ``releases`` is ``{"main": release_key, "gray": None or {"release_key": str, "ips": [...],
  "labels": [...], "percentage": number}}`` for ``key``;
* a client gets the gray release if its IP is in ``ips``, or it carries one of ``labels``, or
  its stable bucket for ``key`` falls in the first ``percentage`` percent (Apollo's gray rules by
  IP and label; Nacos's beta by IP; a percentage by a hash of the client, as
  :func:`~dscourse.config.bucket` does with SHA-256); otherwise the main release.

In the grader every node instance is a process of its own, so instances disagree if the
answer uses Python's salted ``hash()`` (``PYTHONHASHSEED`` differs per process) or draws at
random. Run in the notebook, all instances share one process; the harness then emulates a
process per instance by salting ``hash`` of strings, bytes and tuples differently while each
instance runs (:func:`_process`), so the public tests catch the same mistake. Properties:

* ``fraction`` -- over 10,000 clients the gray share is within ±2 points of the target;
* ``rules`` -- IP and label rules select exactly the matching clients;
* ``stable`` -- five instances (two of them "restarted", fresh processes) and repeated calls
  route every client the same way;
* ``merge`` -- with the library's Apollo clients long-polling a service that routes through
  the student's instances: everyone gets its cohort's release, and after "merge to full
  release" (and after "abandon gray") every client converges to the main release.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import ConfigError, allowed
from ..sim import Node, Simulation, UniformInt, reliable, stream
from .client import ApolloClient
from .gray import GrayRule
from .model import Release
from .server import ApolloConfigService

GRAY_PROPERTIES = ("fraction", "rules", "stable", "merge")
Make = Callable[[Any, str], Any]
ROUTERS = ("g0", "g1", "g2", "g3", "g4")


def _local_make(cls: Any, node_id: str) -> Any:
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise allowed("router class", cls, "a subclass of ds.sim.Node with a route method")
    return cls(node_id)


@contextlib.contextmanager
def _process(salt: str | None) -> Iterator[None]:
    """While a local instance runs: ``hash`` of str, bytes and tuples salted with ``salt``, as
    a process started with another ``PYTHONHASHSEED`` would hash them (None: unchanged)."""
    if salt is None:
        yield
        return
    real = builtins.hash

    def salted(obj: Any) -> int:
        if isinstance(obj, (str, bytes, tuple)):
            return real((salt, obj))
        return real(obj)

    builtins.hash = salted
    try:
        yield
    finally:
        builtins.hash = real


class Routers:
    """The student's router instances, started on a simulation; :meth:`route` calls one."""

    def __init__(self, cls: Any, make: Make | None, seed: int) -> None:
        self.sim = Simulation(seed=seed)
        build = make or _local_make
        self.nodes: dict[str, Any] = {rid: build(cls, rid) for rid in ROUTERS}
        for node in self.nodes.values():
            self.sim.add_node(node)
        self.local = isinstance(cls, type)
        self.sim.run(until=1.0)

    def route(self, router: str, clients: list[list[Any]], key: str, releases: dict[str, Any]) -> list[str]:
        salt = f"process-{router}" if self.local else None
        with _process(salt):
            out = self.nodes[router].route([list(c) for c in clients], key, _copy(releases))
        if type(out) not in (list, tuple) or len(out) != len(clients) or not all(type(r) is str for r in out):
            raise allowed(f"route() on {router}", repr(out)[:80], f"a list of {len(clients)} release keys (str)")
        return list(out)


def _copy(releases: dict[str, Any]) -> dict[str, Any]:
    g = releases["gray"]
    return {"main": releases["main"], "gray": None if g is None else
            {"release_key": g["release_key"], "ips": list(g["ips"]), "labels": list(g["labels"]),
             "percentage": g["percentage"]}}


def _gray(rk: str, percentage: float = 0, ips: Iterable[str] = (), labels: Iterable[str] = ()) -> dict[str, Any]:
    return {"release_key": rk, "ips": list(ips), "labels": list(labels), "percentage": percentage}


def _clients(rng: Any, n: int) -> list[list[Any]]:
    return [[f"app-{int(rng.integers(1 << 40)):010x}", f"10.{int(rng.integers(256))}.{int(rng.integers(256))}."
             f"{int(rng.integers(256))}", []] for _ in range(n)]


def reference_route(clients: list[list[Any]], key: str, releases: dict[str, Any]) -> list[str]:
    """The reference rule (:class:`~dscourse.config.GrayRule` with :func:`bucket`)."""
    g = releases["gray"]
    if g is None:
        return [releases["main"]] * len(clients)
    rule = GrayRule(tuple(g["ips"]), tuple(g["labels"]), float(g["percentage"]))
    return [g["release_key"] if rule.matches(c, key, ip, tuple(lab)) else releases["main"] for c, ip, lab in clients]


def _fraction(routers: Routers, rng: Any, targets: list[int], problems: dict[str, str]) -> None:
    clients = _clients(rng, 10_000)
    for i, pct in enumerate(targets):
        key = f"app+default+ns{i}-{int(rng.integers(1000))}"
        out = routers.route("g0", clients, key, {"main": "main-1", "gray": _gray("gray-1", pct)})
        share = sum(r == "gray-1" for r in out) / len(out)
        if abs(share - pct / 100) > 0.02 and "fraction" not in problems:
            problems["fraction"] = (f"Fraction: with percentage {pct} on {key!r}, {share:.2%} of 10,000 clients got "
                                    f"the gray release; expected {pct}% ± 2 points")


def _rules(routers: Routers, rng: Any, problems: dict[str, str]) -> None:
    clients = _clients(rng, 40)
    for i, c in enumerate(clients):
        c[2] = [["canary"], ["blue", "canary"], ["blue"], []][i % 4]
    ips = [c[1] for c in clients[::5]]
    cases = [("ips", _gray("gray-ip", 0, ips=ips)), ("labels", _gray("gray-lab", 0, labels=["canary"])),
             ("ips and labels", _gray("gray-both", 0, ips=ips[:2], labels=["blue"]))]
    for n, (what, g) in enumerate(cases):
        key = f"app+default+rules{n}-{int(rng.integers(1000))}"
        releases = {"main": "main-1", "gray": g}
        got = routers.route("g1", clients, key, releases)
        want = reference_route(clients, key, releases)
        wrong = [c for c, a, b in zip(clients, got, want, strict=True) if a != b]
        if wrong and "rules" not in problems:
            c = wrong[0]
            problems["rules"] = (f"Rules: gray by {what} (ips {g['ips'][:3]}..., labels {g['labels']}, percentage 0): "
                                 f"client {c[0]} at {c[1]} with labels {c[2]} got "
                                 f"{got[clients.index(c)]!r}, expected {want[clients.index(c)]!r} "
                                 f"({len(wrong)} of {len(clients)} clients wrong)")


def _stable(routers: Routers, rng: Any, problems: dict[str, str]) -> None:
    clients = _clients(rng, 2_000)
    key = f"app+default+stable-{int(rng.integers(1000))}"
    releases = {"main": "main-1", "gray": _gray("gray-1", int(rng.integers(20, 80)))}
    first = routers.route("g0", clients, key, releases)
    for router in (*ROUTERS, "g0"):
        again = routers.route(router, clients, key, releases)
        moved = [c[0] for c, a, b in zip(clients, first, again, strict=True) if a != b]
        if moved:
            where = "a second call on g0" if router == "g0" else f"instance {router}" + \
                (" (restarted: a new process)" if router in ("g3", "g4") else "")
            problems["stable"] = (f"Stable: {len(moved)} of {len(clients)} clients changed cohort on {where}, e.g. "
                                  f"{moved[0]} (hash with a fixed function such as hashlib, never Python's salted "
                                  "hash() or random)")
            return


class RoutedConfigService(ApolloConfigService):
    """An Apollo config service whose gray decisions come from the student's routers: each
    ``/configs`` query is routed by one of them (by the query's id, so all take turns)."""

    routers: Routers | None = None

    def effective(self, key: str, client: str, ip: str = "", labels: tuple[str, ...] = ()) -> Release | None:
        main = self.store.current(key)
        g = self.gray.get(key)
        if main is None or self.routers is None:
            return main
        releases = {"main": main.release_key, "gray": None if g is None else
                    _gray(g[1].release_key, g[0].percentage, g[0].ips, g[0].labels)}
        n = self.stable["queries"] = self.stable.get("queries", 0) + 1
        rk = self.routers.route(ROUTERS[n % len(ROUTERS)], [[client, ip, list(labels)]], key, releases)[0]
        if rk == main.release_key:
            return main
        if g is not None and rk == g[1].release_key:
            return g[1]
        raise allowed(f"route() for {client}", rk, f"the main release {main.release_key!r}"
                      + ("" if g is None else f" or the gray release {g[1].release_key!r}"))


def merge_trial(cls: Any, seed: int, *, make: Make | None = None, clients: int = 60,
                settle_ms: float = 3_000.0) -> Trial:
    """``merge``: clients long-poll a service whose ``/configs`` answers are routed by the
    student's instances; a gray release (30% plus three IPs), merge to full, a second gray
    release (50%), abandon gray. After the merge and after the abandon every client must
    hold the main release's content within ``settle_ms``."""
    trial = Trial(seed)
    key = "app+default+application"
    what = "start"
    try:
        routers = Routers(cls, make, seed)
        sim = Simulation(seed=seed, network=reliable(latency=UniformInt(1, 10)))
        trial.trace = sim.trace
        service = RoutedConfigService("server")
        service.routers = routers
        sim.add_node(service)
        nodes = [ApolloClient(f"c{i}", "server", [key], ip=f"10.1.0.{i}") for i in range(clients)]
        for node in nodes:
            sim.add_node(node)
        service.publish(key, "color: blue")
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("gray release of color: green (30% and three IPs)",
             lambda: service.gray_release(key, "color: green", GrayRule(ips=("10.1.0.1", "10.1.0.2", "10.1.0.3"),
                                                                        percentage=30))),
            ("merge to full release", lambda: service.merge_gray(key)),
            ("gray release of color: red (50%)", lambda: service.gray_release(key, "color: red",
                                                                              GrayRule(percentage=50))),
            ("abandon gray", lambda: service.abandon_gray(key)),
        ]
        sim.run(until=settle_ms)
        for i, (what, act) in enumerate(steps):
            act()
            sim.run(until=settle_ms * (i + 2))
            current = service.store.current(key)
            main = None if current is None else current.content
            if key in service.gray:
                trial.facts[f"gray after step {i + 1}"] = sum(c.get(key) != main for c in nodes)
                continue
            behind = [c for c in nodes if c.get(key) != main]
            if behind:
                return trial.fail(f"Merge: {settle_ms:g} ms after the {what}, {len(behind)} of {clients} clients did "
                                  f"not serve the main release {main!r}, e.g. {behind[0].id} served "
                                  f"{behind[0].get(key)!r}")
    except ConfigError as exc:
        trial.violate(f"Merge: during the {what}: {exc} (a remembered decision that outlived its release?)")
    return trial


def gray_trial(cls: Any, seed: int, *, make: Make | None = None, targets: Iterable[int] = (5, 20, 50),
               properties: Iterable[str] = ("fraction", "rules", "stable")) -> Trial:
    """``fraction`` at each of ``targets`` (percent), ``rules`` and ``stable`` on five router
    instances made by ``make(cls, node_id)`` (the sandbox's ``make_node`` in the grader);
    every failed property is listed."""
    props = selected(properties, GRAY_PROPERTIES)
    trial = Trial(seed)
    rng = stream(seed, "E15.3")
    problems: dict[str, str] = {}
    try:
        routers = Routers(cls, make, seed)
        if "fraction" in props:
            _fraction(routers, rng, list(targets), problems)
        if "rules" in props:
            _rules(routers, rng, problems)
        if "stable" in props:
            _stable(routers, rng, problems)
    except ConfigError as exc:
        return trial.fail(f"unusable answer: {exc}")
    for p in props:
        if p in problems:
            trial.violate(problems[p])
    return trial

