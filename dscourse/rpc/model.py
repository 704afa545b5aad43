"""The values every layer passes around: :class:`Provider`, :class:`Invocation`, :class:`RpcError`.

Dubbo's protocol layer (Dubbo docs, "Framework design": ``Invocation``/``Result``) names a call
by its service interface, method and arguments; a provider is a URL
``dubbo://host:port/<interface>?weight=..&timestamp=..`` in the registry. Here a
:class:`Provider` is the URL's parsed form and :func:`provider_url` / :func:`parse_provider_url`
convert between the two (the registry stores the URL percent-encoded, as Dubbo does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ..errors import DscourseError, allowed

DEFAULT_WEIGHT = 100          # Dubbo's CommonConstants.DEFAULT_WEIGHT
DEFAULT_WARMUP_MS = 600_000   # Dubbo's DEFAULT_WARMUP: ten minutes


@dataclass(frozen=True)
class Provider:
    """One provider instance: ``address`` ``host:port``, its ``weight`` (Dubbo's default 100),
    ``timestamp`` (virtual ms it started, for the warm-up ramp; None: warm from the start) and
    ``warmup`` (ms, Dubbo's default ten minutes)."""

    address: str
    weight: int = DEFAULT_WEIGHT
    timestamp: float | None = None
    warmup: float = DEFAULT_WARMUP_MS

    def __post_init__(self) -> None:
        host, sep, port = self.address.rpartition(":") if isinstance(self.address, str) else ("", "", "")
        if not sep or not host or not port.isdigit():
            raise allowed("Provider address", self.address, "'host:port', e.g. '10.0.0.1:20880'")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int):
            raise allowed("weight", self.weight, "an int (Dubbo treats weights <= 0 as 0)")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, (int, float)) or self.warmup < 0:
            raise allowed("warmup", self.warmup, "a duration >= 0 in ms")

    @property
    def host(self) -> str:
        return self.address.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


@dataclass(frozen=True)
class Invocation:
    """A call: ``service`` (interface name), ``method``, ``args`` (a tuple) and string
    ``attachments`` (Dubbo's implicit parameters, as sorted pairs)."""

    service: str
    method: str
    args: tuple = ()
    attachments: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.service, str) or not self.service:
            raise allowed("service", self.service, "a non-empty interface name")
        if not isinstance(self.method, str) or not self.method:
            raise allowed("method", self.method, "a non-empty method name")
        if not isinstance(self.args, tuple):
            raise allowed("args", self.args, "a tuple of arguments")

    def attachment(self, key: str, default: str | None = None) -> str | None:
        return dict(self.attachments).get(key, default)


class RpcError(DscourseError):
    """A failed call, with Dubbo's ``RpcException`` codes: ``"timeout"``, ``"network"``,
    ``"biz"`` (the provider's method raised), ``"no_invoker"`` (no provider to call),
    ``"forbidden"`` (a router or the registry emptied the list), ``"unknown"``."""

    CODES = ("timeout", "network", "biz", "no_invoker", "forbidden", "unknown")

    def __init__(self, code: str, message: str) -> None:
        if code not in self.CODES:
            raise allowed("RpcError code", code, f"one of {', '.join(self.CODES)}")
        super().__init__(f"[{code}] {message}")
        self.code = code

    @property
    def is_biz(self) -> bool:
        """A business exception: the provider ran the method and it raised. Failover never
        retries these (Dubbo's ``FailoverClusterInvoker``: ``if (e.isBiz()) throw e``)."""
        return self.code == "biz"


def provider_url(p: Provider, interface: str, methods: tuple[str, ...] = (), **params: Any) -> str:
    """Dubbo's provider URL, e.g. ``dubbo://10.0.0.1:20880/DemoService?methods=sayHello&weight=5``."""
    q: dict[str, Any] = {"interface": interface}
    if methods:
        q["methods"] = ",".join(methods)
    q["weight"] = p.weight
    if p.timestamp is not None:
        q["timestamp"] = int(p.timestamp)
    q["warmup"] = int(p.warmup)
    q.update(params)
    return f"dubbo://{p.address}/{interface}?{urlencode(sorted(q.items()))}"


def parse_provider_url(url: str) -> tuple[Provider, dict[str, str]]:
    """The :class:`Provider` and all parameters of a (decoded or percent-encoded) provider URL."""
    text = unquote(url) if "%" in url else url
    parts = urlsplit(text)
    if parts.scheme != "dubbo" or not parts.netloc:
        raise allowed("provider URL", url, "'dubbo://host:port/Interface?...'")
    params = dict(parse_qsl(parts.query))
    ts = params.get("timestamp")
    p = Provider(parts.netloc, int(params.get("weight", DEFAULT_WEIGHT)), float(ts) if ts is not None else None,
                 float(params.get("warmup", DEFAULT_WARMUP_MS)))
    return p, params


def encode_url(url: str) -> str:
    """The znode name of a provider URL: every reserved character percent-encoded (Dubbo's
    ``URL.encode``), so the URL's ``/`` cannot be read as a path separator."""
    return quote(url, safe="")
