"""dscourse.rpc: an RPC framework with Dubbo's registry, load balancers and cluster strategies (Chapter 12).

* :class:`Provider`, :class:`Invocation`, :class:`RpcError` -- the values of every layer;
* load balancers with Dubbo's names: :class:`RandomLoadBalance`, :class:`RoundRobinLoadBalance`,
  :class:`LeastActiveLoadBalance`, :class:`ShortestResponseLoadBalance`,
  :class:`ConsistentHashLoadBalance`; :func:`load_balancer` by name through the SPI
  :class:`ExtensionLoader`; :class:`RpcStatus`, the active counts they read.
"""

from .._lazy import lazy
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
from .spi import ExtensionLoader, load_balancer
from .status import RpcStatus

__all__ = [
    "AbstractLoadBalance", "ConsistentHashLoadBalance", "ConsistentHashRing", "ExtensionLoader", "Invocation",
    "LeastActiveLoadBalance", "Provider", "RandomLoadBalance", "RoundRobinLoadBalance", "RpcError", "RpcStatus",
    "ShortestResponseLoadBalance", "calculate_warmup_weight", "encode_url", "load_balancer", "parse_provider_url",
    "provider_url",
]

__getattr__, __dir__ = lazy(__name__, globals(), ("labs",))
