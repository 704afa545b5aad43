"""dscourse.config: configuration centers, Nacos and Apollo, on the simulator (Chapter 15).

(Named ``config`` as the issue asks: nothing else in ``dscourse`` is called ``config``; the
``ConfigError`` exception is a different name in ``dscourse.errors``.)

* :mod:`.model` -- the data models (:class:`NacosKey` namespace/group/dataId,
  :class:`ApolloKey` appId/cluster/namespace), content MD5s, immutable :class:`Release` s with
  release keys, history, rollback and audit in :class:`ReleaseStore`, release messages;
* :mod:`.server` -- :class:`NacosConfigServer` (1.x long polling held 29.5 s, 2.x push) and
  :class:`ApolloConfigService` (``/notifications/v2`` held 60 s, the 1 s release-message scan,
  ``/configs`` with release keys, gray release);
* :mod:`.client` -- :class:`NacosClient`, :class:`ApolloClient` (and the fixed-interval
  :class:`PollingClient` baseline) with the local snapshot
  cache (in ``stable``) and listeners;
* :mod:`.gray` -- :class:`GrayRule` (IP, label, stable-hash percentage);
* :func:`cluster` -- a server and clients on one simulation (:class:`ConfigCluster`);
* :mod:`.zkcenter` (loaded on first use) -- the ZooKeeper-backed variant on ``ds.zk``:
  :func:`zk_cluster`, watch + getData, the one-shot watch race, ``jute.maxbuffer``;
* :mod:`.measure` (loaded on first use) -- server cost (requests/s, bytes, held connections)
  and propagation delays at scale; :mod:`.labs` -- the chapter's figures and widgets;
* also loaded on first use: :mod:`.dynamic_routes` (the gateway's routes fed from Nacos),
  :mod:`.herd` (the thundering herd on a server restart, with and without jitter),
  :mod:`.naming` (Nacos's AP Distro vs CP Raft naming under a partition) and :mod:`.console`
  (the gray-release console's model), :mod:`.modelcheck` (:func:`check_long_poll`, every
  interleaving of one client's polls with two publishes); :mod:`.exercises` (E15.1-E15.4 harnesses).
"""

from .._lazy import lazy
from .client import (
    APOLLO_TIMEOUT_MS,
    FETCH_TIMEOUT_MS,
    KEEPALIVE_MS,
    NACOS_TIMEOUT_MS,
    REFRESH_MS,
    ApolloClient,
    ConfigClient,
    NacosClient,
    PollingClient,
)
from .gray import GrayRule, bucket
from .model import ApolloKey, AuditEntry, NacosKey, Release, ReleaseMessage, ReleaseStore, md5
from .server import (
    APOLLO_HOLD_MS,
    HOLD_MARGIN_MS,
    MIN_HOLD_MS,
    SCAN_INTERVAL_MS,
    ApolloConfigService,
    NacosConfigServer,
)
from .system import DESIGNS, ConfigCluster, cluster

__all__ = [
    "APOLLO_HOLD_MS",
    "APOLLO_TIMEOUT_MS",
    "DESIGNS",
    "FETCH_TIMEOUT_MS",
    "HOLD_MARGIN_MS",
    "KEEPALIVE_MS",
    "MIN_HOLD_MS",
    "NACOS_TIMEOUT_MS",
    "REFRESH_MS",
    "SCAN_INTERVAL_MS",
    "ApolloClient",
    "ApolloConfigService",
    "ApolloKey",
    "AuditEntry",
    "ConfigClient",
    "ConfigCluster",
    "GrayRule",
    "NacosClient",
    "NacosConfigServer",
    "NacosKey",
    "PollingClient",
    "Release",
    "ReleaseMessage",
    "ReleaseStore",
    "bucket",
    "cluster",
    "md5",
]

__getattr__, __dir__ = lazy(__name__, globals(),
                            ("zkcenter", "measure", "labs", "dynamic_routes", "herd", "naming", "console",
                             "modelcheck", "exercises"),
                            attributes={"zk_cluster": "zkcenter", "check_long_poll": "modelcheck"})
