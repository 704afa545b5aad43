"""Dubbo's ZooKeeper registry on ``ds.zk`` (Dubbo docs, "ZooKeeper registry").

Layout: ``/dubbo/<interface>/providers/<URL-encoded provider URL>``, each an *ephemeral* znode
of the provider's session, and ``/dubbo/<interface>/consumers/<URL-encoded consumer URL>``.
A consumer reads ``providers`` with a child watch and re-reads on every CHILD event, so it
learns of a provider leaving when its znode goes: on a graceful unregister, or when the
provider's *session expires* (seed erratum H3), not the moment the process dies. A read that
fails (the registry is down) is retried later, like Dubbo's ``FailbackRegistry``, and until
then the consumer keeps serving from the list it last saw.

Uses ``ds.zk``'s kazoo-compatible client only through its public API (``ensure_path``,
``create(ephemeral=True)``, ``delete``, ``get_children_async`` with a watch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from .model import encode_url

ROOT = "/dubbo"


def category_path(interface: str, category: str = "providers") -> str:
    return f"{ROOT}/{interface}/{category}"


class ZookeeperRegistry:
    """One process's registry handle over a started kazoo(-compatible) ``client``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.reads = 0
        self.failed_reads = 0

    def register(self, interface: str, url: str, category: str = "providers") -> str:
        """Create the ephemeral znode for ``url``; returns its path (blocks: setup time only)."""
        path = category_path(interface, category)
        self.client.ensure_path(path)
        return self.client.create(f"{path}/{encode_url(url)}", ephemeral=True)

    def unregister(self, interface: str, url: str, category: str = "providers") -> None:
        """Graceful shutdown: delete the znode now (consumers hear at once)."""
        self.client.delete(f"{category_path(interface, category)}/{encode_url(url)}")

    def lookup(self, interface: str) -> list[str]:
        """The decoded provider URLs now (blocks: setup time or a notebook cell only)."""
        return sorted(unquote(c) for c in self.client.get_children(category_path(interface)))

    def subscribe(self, interface: str, notify: Callable[[list[str]], None],
                  on_failure: Callable[[], None]) -> None:
        """Read the providers with a child watch (never blocks: callable from a handler);
        ``notify(urls)`` on every successful read, ``on_failure()`` when a read fails."""
        path = category_path(interface)

        def on_event(event: Any) -> None:
            read()

        def on_children(result: Any) -> None:
            if result.successful():
                children = result.value[0] if isinstance(result.value, tuple) else result.value
                notify(sorted(unquote(c) for c in children))
            else:
                self.failed_reads += 1
                on_failure()

        def read() -> None:
            self.reads += 1
            self.client.get_children_async(path, watch=on_event).rawlink(on_children)

        read()
