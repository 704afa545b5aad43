"""A configuration center on ZooKeeper (``ds.zk``): one znode per key, watch + getData.

The classic recipe (ZooKeeper Programmer's Guide, "ZooKeeper Watches"): read the znode with
``get(path, watch=...)``; a watch is *one-shot*, so on each event read again *with a new
watch*. Because the read and the watch registration are one request, every later change fires
the new watch: a client may skip intermediate versions (several sets between the event and the
re-read) but never ends on a stale one. ``atomic=False`` is the broken variant that reads with
``get`` and then registers the watch with a separate ``exists``: a set that lands between the
two is never seen (the one-shot watch race).

Values are limited by ``jute.maxbuffer`` (ZooKeeper Administrator's Guide: default 0xfffff
bytes, about 1 MB, for a whole packet); ``ds.zk`` does not model packet sizes, so
:meth:`ZkConfigCenter.publish` refuses larger contents itself, as the real server would
refuse the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import zk
from ..errors import allowed
from ..notebook import default_seed
from ..sim import Network
from ..sim.cluster import Cluster
from .model import NO_MD5, md5

#: ZooKeeper's default ``jute.maxbuffer``: 0xfffff bytes
JUTE_MAXBUFFER = 0xFFFFF
ROOT = "/config"


class ZkConfigWatcher:
    """One client's view of one key: ``value`` (the last content read) and ``reads``."""

    def __init__(self, client: Any, path: str, atomic: bool = True) -> None:
        self.client, self.path, self.atomic = client, path, atomic
        self.value: str | None = None
        self.reads = 0

    def start(self) -> None:
        self.read()

    def read(self) -> None:
        self.reads += 1
        if self.atomic:
            self.client.get_async(self.path, watch=self.on_event).rawlink(self.on_data)
        else:
            self.client.get_async(self.path).rawlink(self.on_data)

    def on_event(self, event: Any) -> None:
        self.read()  # the watch is gone: read again (atomically re-arming it, or not)

    def on_data(self, result: Any) -> None:
        if result.successful():
            self.value = result.value[0].decode()
        if not self.atomic:  # the race: the watch is registered by a second, later request
            self.client.exists_async(self.path, watch=self.on_event)


class ZkConfigCenter(Cluster):
    """A ``ds.zk`` ensemble, an admin client that publishes, and watching clients."""

    def __init__(self, ensemble: Any, admin: Any, watchers: dict[str, dict[str, ZkConfigWatcher]],
                 keys: tuple[str, ...]) -> None:
        super().__init__(ensemble.sim, ensemble.nodes)
        self.zk, self.admin, self.watchers, self.keys = ensemble, admin, watchers, keys

    def path(self, key: str) -> str:
        return f"{ROOT}/{key}"

    def publish(self, key: str, content: str) -> None:
        """Set the key's znode (asynchronously; it commits through ZAB)."""
        data = content.encode()
        if len(data) > JUTE_MAXBUFFER:
            raise allowed("content size", len(data), f"at most jute.maxbuffer = {JUTE_MAXBUFFER} bytes")
        self.admin.set_async(self.path(key), data)

    def current(self, key: str) -> str | None:
        """The committed content on the leader."""
        leader = self.zk.leader()
        if leader is None:
            return None
        tree = self.zk.nodes[leader].tree
        path = self.path(key)
        return tree.get(path)[0].decode() if tree.exists(path) is not None else None

    def stale(self) -> list[tuple[str, str]]:
        return [(c, k) for c, ws in self.watchers.items() for k, w in ws.items()
                if (NO_MD5 if w.value is None else md5(w.value)) != md5(self.current(k) or "")]

    def converged(self) -> bool:
        return not self.stale()


def zk_cluster(clients: int = 3, seed: int | None = None, keys: Sequence[str] = ("application.yaml",),
               atomic: bool = True, servers: int = 3, network: Network | None = None) -> ZkConfigCenter:
    """A ``servers``-node ``ds.zk`` ensemble with one znode per key under ``/config`` and
    ``clients`` watching clients (``atomic=False``: the racy get-then-exists client)."""
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise allowed("clients", clients, "an int >= 1")
    options: dict[str, Any] = {} if network is None else {"network": network}
    ensemble = zk.ensemble(servers, seed=default_seed(seed), **options)
    ensemble.run_until_leader()
    admin = ensemble.client(record=False)
    admin.start()
    names = tuple(str(k) for k in keys)
    for k in names:
        admin.ensure_path(f"{ROOT}/{k}")
    watchers: dict[str, dict[str, ZkConfigWatcher]] = {}
    for _ in range(clients):
        client = ensemble.client(record=False)
        client.start()
        watchers[client.id] = {k: ZkConfigWatcher(client, f"{ROOT}/{k}", atomic) for k in names}
        for w in watchers[client.id].values():
            w.start()
    return ZkConfigCenter(ensemble, admin, watchers, names)
