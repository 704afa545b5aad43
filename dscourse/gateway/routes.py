"""Route definitions as plain data, loaded from a dict or YAML shaped like Spring Cloud Gateway's
``spring.cloud.gateway.routes`` (Spring Cloud Gateway reference, "Configuring Route Predicate
Factories and Gateway Filter Factories": shortcut ``Name=arg1,arg2`` or fully expanded
``{name: ..., args: {...}}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import allowed

URI_SCHEMES = ("http", "https", "lb", "forward")


@dataclass(frozen=True)
class Definition:
    """A predicate or filter definition: ``name`` and its ``args`` (positional strings for a
    shortcut, or named pairs for the expanded form)."""

    name: str
    args: tuple[str, ...] = ()
    named: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def parse(cls, spec: str | dict[str, Any], what: str) -> Definition:
        if isinstance(spec, str):
            name, sep, rest = spec.partition("=")
            if not sep or not name.strip():
                raise allowed(what, spec, "'Name=arg1,arg2' or {name: ..., args: {...}}")
            return cls(name.strip(), tuple(a.strip() for a in _split_args(rest)))
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            args = spec.get("args", {}) or {}
            if not isinstance(args, dict):
                raise allowed(f"{what} args", args, "a mapping of argument names to values")
            return cls(spec["name"], (), tuple(_flatten(args)))
        raise allowed(what, spec, "'Name=arg1,arg2' or {name: ..., args: {...}}")

    def arguments(self) -> Sequence[str] | dict[str, Any]:
        return dict(self.named) if self.named else self.args

    def __str__(self) -> str:
        if self.named:
            return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.named)})"
        return f"{self.name}={','.join(self.args)}"


def _split_args(text: str) -> list[str]:
    """Split on commas outside ``{...}`` and parentheses (a regex may contain commas)."""
    out, depth, cur = [], 0, ""
    for c in text:
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return out


def _flatten(args: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested args keep their structure except rate-limiter keys, which SCG writes dotted."""
    out: list[tuple[str, Any]] = []
    for k, v in args.items():
        if k == "redis-rate-limiter" and isinstance(v, dict):
            out.extend((f"redis-rate-limiter.{kk}", vv) for kk, vv in v.items())
        elif isinstance(v, list):
            out.append((prefix + str(k), tuple(v)))
        else:
            out.append((prefix + str(k), v))
    return out


@dataclass(frozen=True)
class RouteDefinition:
    """``RouteDefinition``: ``id``, ``uri`` (``http://host:port``, ``lb://service`` or
    ``forward:/path``), ``predicates`` and ``filters`` (:class:`Definition`), ``order``
    (lower first; declaration order breaks ties) and free ``metadata``."""

    id: str
    uri: str
    predicates: tuple[Definition, ...] = ()
    filters: tuple[Definition, ...] = ()
    order: int = 0
    metadata: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise allowed("route id", self.id, "a non-empty string")
        scheme = self.uri.partition(":")[0] if isinstance(self.uri, str) else None
        if scheme not in URI_SCHEMES or ":" not in self.uri:
            raise allowed(f"route {self.id!r} uri", self.uri, f"a URI with scheme {', '.join(URI_SCHEMES)}")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise allowed(f"route {self.id!r} order", self.order, "an int")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RouteDefinition:
        if not isinstance(d, dict):
            raise allowed("route", d, "a mapping with id, uri, predicates, filters, order, metadata")
        unknown = set(d) - {"id", "uri", "predicates", "filters", "order", "metadata"}
        if unknown:
            raise allowed("route key", sorted(unknown)[0], "id, uri, predicates, filters, order, metadata")
        return cls(str(d.get("id", "")), d.get("uri", ""),
                   tuple(Definition.parse(p, "predicate") for p in d.get("predicates", []) or []),
                   tuple(Definition.parse(f, "filter") for f in d.get("filters", []) or []),
                   d.get("order", 0), tuple((d.get("metadata") or {}).items()))


def load_routes(config: str | dict[str, Any] | list[Any]) -> list[RouteDefinition]:
    """Routes from YAML text, a ``{spring: {cloud: {gateway: {routes: [...]}}}}`` dict, or the list."""
    if isinstance(config, str):
        import yaml
        config = yaml.safe_load(config)
    routes: Any = config
    if isinstance(config, dict):
        try:
            routes = config["spring"]["cloud"]["gateway"]["routes"]
        except (KeyError, TypeError):
            raise allowed("gateway config", sorted(config)[:3], "spring.cloud.gateway.routes: [...]") from None
    if not isinstance(routes, list):
        raise allowed("routes", routes, "a list of route mappings")
    defs = [RouteDefinition.from_dict(r) for r in routes]
    ids = [r.id for r in defs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise allowed("route id", dup[0], "ids that are all different")
    return defs
