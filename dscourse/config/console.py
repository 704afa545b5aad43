"""The model behind the gray-release console (Apollo's "灰度" tab; its widget is in :mod:`.labs`).

:class:`GrayConsole` drives a simulated Apollo config service and its clients: :meth:`apply`
sets the gray rule (IP list, labels, percentage) and publishes the gray content to the clients
it matches; :meth:`merge` merges the gray content into a full release ("全量发布"); :meth:`abandon`
drops the gray branch ("放弃灰度") so gray clients go back to the main release; :meth:`rollback`
rolls the main release back. After each operation the clients run until they have fetched what
the server serves them, so :meth:`effective` is what each client *holds*, read from its snapshot,
and :meth:`reason` says why it is (or is not) in the gray cohort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import allowed
from .gray import BUCKETS, GrayRule, bucket
from .server import ApolloConfigService
from .system import ConfigCluster, cluster

KEY = "application.yaml"
#: labels handed out to the console's clients, in turn (client i gets LABELS[i % 4], or none)
LABELS: tuple[tuple[str, ...], ...] = (("canary",), (), ("beta",), ())


@dataclass(frozen=True)
class Row:
    """One client in the console: who it is, whether the rule matches it and why, what it holds."""

    client: str
    ip: str
    labels: tuple[str, ...]
    bucket: int
    reason: str  # "ip", "label", "percentage" or "" (main release)
    content: str | None


class GrayConsole:
    """A console over ``clients`` Apollo clients (IPs ``10.0.0.<i>``; labels from :data:`LABELS`)."""

    def __init__(self, clients: int = 100, seed: int | None = None, main: str = "discount: 0",
                 gray: str = "discount: 5") -> None:
        if isinstance(clients, bool) or not isinstance(clients, int) or not 1 <= clients <= 2_000:
            raise allowed("clients", clients, "an int from 1 to 2000")
        labels = [LABELS[i % len(LABELS)] for i in range(clients)]
        self.cluster: ConfigCluster = cluster("apollo", clients=clients, seed=seed, keys=(KEY,), labels=labels)
        self.main_content, self.gray_content = main, gray
        self.rule: GrayRule | None = None
        self.log: list[str] = []
        self.cluster.publish(KEY, main)
        self.settle()

    @property
    def server(self) -> ApolloConfigService:
        s = self.cluster.server
        assert isinstance(s, ApolloConfigService)
        return s

    def settle(self) -> None:
        """Run until every client holds what the server serves it (at most 10 s of virtual time)."""
        self.cluster.run_until(self.cluster.converged, 10_000)

    def apply(self, ips: Sequence[str] = (), labels: Sequence[str] = (), percentage: float = 0.0) -> GrayRule:
        """Set the gray rule and publish the gray content to the clients it matches."""
        rule = GrayRule(tuple(ips), tuple(labels), percentage)
        self.server.gray_release(KEY, self.gray_content, rule)
        self.rule = rule
        self.log.append(f"gray rule ips={list(ips)} labels={list(labels)} percentage={percentage:g}")
        self.settle()
        return rule

    def merge(self) -> None:
        """Merge the gray content into a full release: everyone gets it."""
        if self.rule is None:
            raise allowed("merge", "no gray release", "a console with a gray rule applied")
        self.server.merge_gray(KEY)
        self.rule = None
        self.log.append("merged to full release")
        self.settle()

    def abandon(self) -> None:
        """Abandon the gray release: gray clients go back to the main release."""
        if self.rule is None:
            raise allowed("abandon", "no gray release", "a console with a gray rule applied")
        self.server.abandon_gray(KEY)
        self.rule = None
        self.log.append("abandoned gray")
        self.settle()

    def rollback(self) -> None:
        """Roll the main release back to the previous one (after a merge: undo it)."""
        self.server.rollback(KEY)
        self.log.append("rolled back the main release")
        self.settle()

    def reason(self, client: str) -> str:
        c = self.cluster.clients[client]
        rule = self.rule
        if rule is None:
            return ""
        ip, labels = getattr(c, "ip", ""), getattr(c, "labels", ())
        if ip and ip in rule.ips:
            return "ip"
        if set(labels) & set(rule.labels):
            return "label"
        if bucket(client, KEY) < rule.percentage / 100 * BUCKETS:
            return "percentage"
        return ""

    def effective(self, client: str) -> str | None:
        """What ``client`` holds now (its local snapshot)."""
        return self.cluster.clients[client].get(KEY)

    def rows(self) -> list[Row]:
        return [Row(cid, getattr(c, "ip", ""), getattr(c, "labels", ()), bucket(cid, KEY), self.reason(cid),
                    self.effective(cid)) for cid, c in self.cluster.clients.items()]

    def cohort(self) -> list[str]:
        """The clients the current rule puts in the gray cohort."""
        return [r.client for r in self.rows() if r.reason]

    def served(self) -> dict[str | None, int]:
        """How many clients hold each content."""
        out: dict[str | None, int] = {}
        for r in self.rows():
            out[r.content] = out.get(r.content, 0) + 1
        return out
