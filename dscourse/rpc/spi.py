"""An SPI-style :class:`ExtensionLoader`: Dubbo's own, not Java's ``ServiceLoader`` (seed erratum H1).

Dubbo reads *named* extensions from resource files ``META-INF/dubbo/<interface FQN>`` (and
``META-INF/dubbo/internal/``, ``META-INF/services/``), one ``name=implementation class`` per
line, and loads a class only when its name is first asked for (Dubbo docs, "SPI extension
implementation"). An interface's ``@SPI("random")`` names its default; ``@Adaptive`` picks the
extension named by a URL parameter at call time (``loadbalance=roundrobin``); wrapper classes
(whose constructor takes the interface) wrap every extension, AOP style; ``@Activate`` turns
extensions such as filters on by group and URL key. Here a resource is a
string of ``key=module:Class`` lines, a class is imported by :mod:`importlib` on first use,
and the loader is an object (no global cache).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..errors import allowed

LOAD_BALANCE = """\
# META-INF/dubbo/internal/org.apache.dubbo.rpc.cluster.LoadBalance (Python classes)
random=dscourse.rpc.loadbalance:RandomLoadBalance
roundrobin=dscourse.rpc.loadbalance:RoundRobinLoadBalance
leastactive=dscourse.rpc.loadbalance:LeastActiveLoadBalance
shortestresponse=dscourse.rpc.loadbalance:ShortestResponseLoadBalance
consistenthash=dscourse.rpc.loadbalance:ConsistentHashLoadBalance
"""

CLUSTER = """\
# META-INF/dubbo/internal/org.apache.dubbo.rpc.cluster.Cluster (Python classes)
failover=dscourse.rpc.cluster:FailoverCluster
failfast=dscourse.rpc.cluster:FailfastCluster
failsafe=dscourse.rpc.cluster:FailsafeCluster
failback=dscourse.rpc.cluster:FailbackCluster
forking=dscourse.rpc.cluster:ForkingCluster
broadcast=dscourse.rpc.cluster:BroadcastCluster
available=dscourse.rpc.cluster:AvailableCluster
"""

CODEC = """\
# META-INF/dubbo/internal/org.apache.dubbo.common.serialize.Serialization (Python classes)
json=dscourse.rpc.codec:JsonCodec
pickle=dscourse.rpc.codec:PickleCodec
msgpack=dscourse.rpc.codec:MsgpackCodec
protobuf=dscourse.rpc.codec:ProtobufCodec
hessianlike=dscourse.rpc.codec:HessianLikeCodec
"""


FILTER = """\
# META-INF/dubbo/internal/org.apache.dubbo.rpc.Filter (Python classes)
active=dscourse.rpc.consumer:ActiveFilter
monitor=dscourse.rpc.consumer:MonitorFilter
"""

# @Activate(group=..., value=..., order=...) of each filter: (groups, URL key or None, order).
FILTER_ACTIVATE = {"active": (("consumer",), None, -100), "monitor": (("consumer", "provider"), None, 100)}


def resource_lines(text: str) -> list[tuple[str, str]]:
    """The ``(name, module:Class)`` pairs of a resource, in file order: ``#`` starts a comment,
    blank lines are skipped, whitespace around the name and the class is trimmed (Dubbo's
    ``loadResource``); a line without a name is an error (Dubbo accepts bare class names; we
    ask for names)."""
    out: list[tuple[str, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, target = (s.strip() for s in line.partition("="))
        if not sep or not name or ":" not in target:
            raise allowed(f"extension line {n}", raw, "'name=module:Class'")
        out.append((name, target))
    return out


def parse_resource(text: str) -> dict[str, str]:
    """:func:`resource_lines` as a dict; a name defined twice in one resource is an error."""
    out: dict[str, str] = {}
    for name, target in resource_lines(text):
        if name in out:
            raise allowed("extension name", name, f"a name not already defined ({name!r} is)")
        out[name] = target
    return out


def load_class(target: str) -> type:
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


class ExtensionLoader:
    """Named extensions of one interface (``kind``): ``get_extension(name)``, the default
    ``get_default_extension()``, ``get_adaptive_extension(params)`` (by URL parameter
    ``key``, or the first of several keys with a value, as ``@Adaptive({"k1", "k2"})``), with
    every wrapper applied. Instances are created per call with ``**kwargs`` (simulations own
    their state), classes loaded lazily.

    ``wrappers`` are classes applied innermost first; ``wrapper_orders`` names the resource
    targets that are wrapper classes (Dubbo: a constructor taking the interface) with their
    ``@Wrapper`` order: such a line wraps every extension instead of naming one, the lowest
    order outermost (Dubbo sorts by order, reverses, then wraps; equal orders: the first listed
    outermost). ``duplicates``: ``"first"`` keeps a name's first class; ``"refuse"`` is Dubbo
    3's ``saveInExtensionClass``: a name bound to two different classes cannot be loaded (the
    same class twice is fine), the other names still can."""

    def __init__(self, kind: str, resources: str | list[str], default: str | None = None,
                 key: str | tuple[str, ...] | None = None, wrappers: tuple[str, ...] = (),
                 activate: Mapping[str, tuple[tuple[str, ...], str | None, int]] | None = None,
                 wrapper_orders: Mapping[str, int] | None = None, duplicates: str = "first") -> None:
        if duplicates not in ("first", "refuse"):
            raise allowed("duplicates", duplicates, "'first' or 'refuse'")
        self.kind = kind
        self.names: dict[str, str] = {}
        self.refused: set[str] = set()
        orders = dict(wrapper_orders or {})
        found: list[str] = []
        for text in [resources] if isinstance(resources, str) else resources:
            pairs = resource_lines(text) if duplicates == "refuse" else list(parse_resource(text).items())
            for name, target in pairs:
                if target in orders:
                    if target not in found:
                        found.append(target)
                elif name not in self.names:
                    self.names[name] = target   # the first resource wins, as Dubbo's load order
                elif self.names[name] != target and duplicates == "refuse":
                    self.refused.add(name)
        outermost_first = sorted(found, key=lambda t: (orders[t], found.index(t)))
        self.wrappers = (*reversed(outermost_first), *wrappers)
        if default is not None and default not in self.names:
            raise allowed(f"{kind} default", default, f"one of {self.allowed()}")
        self.default = default
        self.key = key
        self.keys: tuple[str, ...] = () if key is None else (key,) if isinstance(key, str) else tuple(key)
        self.activate = dict(activate or {})
        for name in self.activate:
            if name not in self.names:
                raise allowed(f"{kind} activate", name, f"one of {self.allowed()}")
        self.loaded: dict[str, type] = {}

    def allowed(self) -> str:
        return ", ".join(sorted(set(self.names) - self.refused))

    def has_extension(self, name: str) -> bool:
        return name in self.names and name not in self.refused

    def target(self, name: str) -> str:
        """The ``module:Class`` of extension ``name`` (a clear error if there is none)."""
        if not isinstance(name, str) or not self.has_extension(name):
            why = " (Dubbo: duplicate extension, two classes)" if name in self.refused else ""
            raise allowed(self.kind, name, f"one of {self.allowed()}{why}")
        return self.names[name]

    def chain(self, name: str) -> list[str]:
        """The classes that handle a call to extension ``name``: wrappers outermost first, then
        the extension's own (what :meth:`get_extension` builds, without loading anything)."""
        return [*reversed(self.wrappers), self.target(name)]

    def get_extension_class(self, name: str) -> type:
        target = self.target(name)
        cls = self.loaded.get(name)
        if cls is None:
            cls = self.loaded[name] = load_class(target)
        return cls

    def get_extension(self, name: str, **kwargs: Any) -> Any:
        """A new instance of extension ``name``, wrapped by each wrapper class."""
        obj = self.get_extension_class(name)(**kwargs)
        for w in self.wrappers:
            obj = load_class(w)(obj)
        return obj

    def get_default_extension(self, **kwargs: Any) -> Any:
        if self.default is None:
            raise allowed(f"{self.kind} default", None, "a loader built with default=<name> (Dubbo's @SPI value)")
        return self.get_extension(self.default, **kwargs)

    def adaptive_name(self, params: Mapping[str, str]) -> str:
        """``@Adaptive``: the value of the first key with a non-empty value in ``params``, else
        the default (Dubbo's generated code: ``url.getParameter(k1, url.getParameter(k2,
        default))``, where an empty value counts as absent)."""
        if not self.keys:
            raise allowed(f"{self.kind} adaptive key", None, "a loader built with key=<URL parameter>")
        name = next((params[k] for k in self.keys if params.get(k)), self.default)
        if name is None:
            raise allowed(f"URL parameter {self.keys[0]!r}", None, f"one of {self.allowed()}")
        return name

    def get_adaptive_extension(self, params: Mapping[str, str], **kwargs: Any) -> Any:
        """``@Adaptive``: the extension :meth:`adaptive_name` names."""
        return self.get_extension(self.adaptive_name(params), **kwargs)

    def get_activate_extensions(self, group: str, params: Mapping[str, str] | None = None,
                                **kwargs: Any) -> list[Any]:
        """``@Activate``: every extension whose groups include ``group`` and whose URL key (if
        any) is present in ``params``, sorted by order; a name in ``params[key]`` prefixed
        with ``-`` is left out (Dubbo's ``filter=-monitor``)."""
        params = params or {}
        removed = {n[1:] for n in params.get(self.keys[0] if self.keys else "", "").split(",") if n.startswith("-")}
        chosen = [(order, name) for name, (groups, key, order) in self.activate.items()
                  if group in groups and (key is None or key in params) and name not in removed]
        return [self.get_extension(name, **kwargs) for _order, name in sorted(chosen)]


def load_balance_loader() -> ExtensionLoader:
    """The ``LoadBalance`` loader: ``@SPI("random")``, adaptive on ``loadbalance``."""
    return ExtensionLoader("loadbalance", LOAD_BALANCE, default="random", key="loadbalance")


def cluster_loader() -> ExtensionLoader:
    """The ``Cluster`` loader: ``@SPI("failover")``, adaptive on ``cluster``."""
    return ExtensionLoader("cluster", CLUSTER, default="failover", key="cluster")


def codec_loader() -> ExtensionLoader:
    """The serialization loader, adaptive on ``serialization`` (default ``hessianlike``, as
    Dubbo's hessian2 before 3.2)."""
    return ExtensionLoader("serialization", CODEC, default="hessianlike", key="serialization")


def filter_loader() -> ExtensionLoader:
    """The ``Filter`` loader: filters activate by group (``consumer``/``provider``), URL key ``filter``."""
    return ExtensionLoader("filter", FILTER, key="filter", activate=FILTER_ACTIVATE)


def load_balancer(name: str = "random", **kwargs: Any) -> Any:
    """``ds.rpc.load_balancer("roundrobin")``: a new balancer by its Dubbo name."""
    return load_balance_loader().get_extension(name, **kwargs)
