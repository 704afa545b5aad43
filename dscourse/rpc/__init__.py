"""dscourse.rpc: an RPC framework with Dubbo's registry, load balancers and cluster strategies (Chapter 12).

* :class:`Provider`, :class:`Invocation`, :class:`RpcError` -- the values of every layer;
* load balancers with Dubbo's names: :class:`RandomLoadBalance`, :class:`RoundRobinLoadBalance`,
  :class:`LeastActiveLoadBalance`, :class:`ShortestResponseLoadBalance`,
  :class:`ConsistentHashLoadBalance`; :func:`load_balancer` by name through the SPI
  :class:`ExtensionLoader`; :class:`RpcStatus`, the active counts they read;
* :func:`cluster` -- providers, a consumer and the ZooKeeper registry on one simulation
  (:class:`RpcCluster`: ``proxy()``, faults, ``duplicates()``, ``monitor``);
* cluster strategies (:mod:`.cluster`: Failover, Failfast, Failsafe, Failback, Forking,
  Broadcast, Available), :class:`ZookeeperRegistry`, :class:`ConditionRouter`,
  :class:`Monitor`, codecs (:mod:`.codec`), the transport's :class:`ConsumerNode` and
  :class:`ProviderNode`;
* :mod:`.grpc_lab` (the demo service over real gRPC), :mod:`.measure` (codec costs),
  :mod:`.experiments`, :mod:`.labs` and :mod:`.exercises` (E12.1-E12.6 harnesses) load on first use.
"""

from .._lazy import lazy
from .cluster import CLUSTERS, Result
from .codec import CODECS, CodecError, codec
from .consumer import ConsumerNode, Filter
from .loadbalance import (
    AbstractLoadBalance,
    ConsistentHashLoadBalance,
    ConsistentHashRing,
    LeastActiveLoadBalance,
    RandomLoadBalance,
    RoundRobinLoadBalance,
    ShortestResponseLoadBalance,
    calculate_warmup_weight,
)
from .model import Invocation, Provider, RpcError, encode_url, parse_provider_url, provider_url
from .monitor import Monitor, percentile
from .provider import DemoService, ProviderNode
from .registry import ZookeeperRegistry
from .router import ConditionRouter
from .spi import ExtensionLoader, load_balancer
from .status import RpcStatus
from .system import ReferenceProxy, RpcCluster, RpcFuture, cluster

__all__ = [
    "CLUSTERS",
    "CODECS",
    "AbstractLoadBalance",
    "CodecError",
    "ConditionRouter",
    "ConsistentHashLoadBalance",
    "ConsistentHashRing",
    "ConsumerNode",
    "DemoService",
    "ExtensionLoader",
    "Filter",
    "Invocation",
    "LeastActiveLoadBalance",
    "Monitor",
    "Provider",
    "ProviderNode",
    "RandomLoadBalance",
    "ReferenceProxy",
    "Result",
    "RoundRobinLoadBalance",
    "RpcCluster",
    "RpcError",
    "RpcFuture",
    "RpcStatus",
    "ShortestResponseLoadBalance",
    "ZookeeperRegistry",
    "calculate_warmup_weight",
    "cluster",
    "codec",
    "encode_url",
    "load_balancer",
    "parse_provider_url",
    "percentile",
    "provider_url",
]

__getattr__, __dir__ = lazy(__name__, globals(), ("labs", "grpc_lab", "measure", "experiments", "exercises"))
