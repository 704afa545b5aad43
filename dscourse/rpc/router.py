"""Routers (Dubbo's ``RouterChain``): narrow the directory's provider list per invocation.

:class:`ConditionRouter` takes Dubbo's condition-rule text ``"<when> => <then>"``, each side
``key = v1,v2 & key != v3`` with ``*`` as a suffix wildcard (Dubbo docs, "Condition Routing").
The *when* side matches the call (``method``, ``service``, ``arguments[0]``); the *then* side
keeps the providers that match (``host``, ``address``, ``port``). An empty *when* matches every
call; an empty *then* forbids the call. With ``force=False`` (Dubbo's default) a rule that
would leave no provider is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import allowed
from .model import Invocation, Provider

Condition = tuple[str, bool, tuple[str, ...]]   # key, negated, patterns


def _parse_side(text: str) -> list[Condition]:
    out: list[Condition] = []
    for part in (p.strip() for p in text.split("&")):
        if not part:
            continue
        op = "!=" if "!=" in part else "="
        key, _, values = part.partition(op)
        key, patterns = key.strip(), tuple(v.strip() for v in values.split(",") if v.strip())
        if not key or not patterns or op not in part:
            raise allowed("condition", part, "'key = v1,v2' or 'key != v' (Dubbo condition rule)")
        out.append((key, op == "!=", patterns))
    return out


def _match(value: str, patterns: tuple[str, ...]) -> bool:
    return any(value.startswith(p[:-1]) if p.endswith("*") else value == p for p in patterns)


@dataclass(frozen=True)
class ConditionRouter:
    rule: str
    force: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.rule, str) or "=>" not in self.rule:
            raise allowed("condition rule", self.rule,
                          "'<when> => <then>', e.g. 'method = placeOrder => host = 10.0.0.1'")
        when, then = self.rule.split("=>", 1)
        _parse_side(when), _parse_side(then)

    def _sides(self) -> tuple[list[Condition], list[Condition]]:
        when, then = self.rule.split("=>", 1)
        return _parse_side(when), _parse_side(then)

    @staticmethod
    def _holds(conds: list[Condition], facts: dict[str, str]) -> bool:
        return all(_match(facts.get(k, ""), pats) != neg for k, neg, pats in conds)

    def route(self, providers: Sequence[Provider], invocation: Invocation) -> list[Provider]:
        when, then = self._sides()
        call = {"method": invocation.method, "service": invocation.service,
                "arguments[0]": str(invocation.args[0]) if invocation.args else ""}
        if not self._holds(when, call):
            return list(providers)
        if not then:
            return []
        kept = [p for p in providers
                if self._holds(then, {"host": p.host, "address": p.address, "port": str(p.port)})]
        return kept if kept or self.force else list(providers)
