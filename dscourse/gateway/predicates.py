"""Route predicate factories with Spring Cloud Gateway's names and semantics (Spring Cloud
Gateway reference, "Route Predicate Factories").

``PREDICATES[name](args)`` builds a :class:`Predicate`; ``args`` are the shortcut arguments
(``Path=/red/{segment},/blue/**`` gives ``["/red/{segment}", "/blue/**"]``). A route matches
only if *all* its predicates do. Erratum H11: the second argument of Cookie, Header and Query is
a Java regular expression that must match the *entire* value; ``Query=name`` alone tests
presence. Erratum H8: After/Before/Between take a ``ZonedDateTime`` and reject a string whose
offset contradicts its zone.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import allowed
from .exchange import METHODS, URI_TEMPLATE_VARIABLES_ATTR, WEIGHT_ATTR, Exchange
from .patterns import host_pattern, java_regex, path_pattern

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Predicate:
    """A named test on an exchange; ``test(exchange)`` may record template variables."""

    name: str
    args: tuple[str, ...]
    test: Callable[[Exchange], bool]

    def __call__(self, exchange: Exchange) -> bool:
        return self.test(exchange)

    def __str__(self) -> str:
        return f"{self.name}={','.join(self.args)}"


_ZDT = re.compile(r"(.+?)(?:\[([^\]]+)\])?")


def parse_zoned(text: str) -> datetime:
    """A Java ``ZonedDateTime`` string (``2017-01-20T17:42:47.789-07:00[America/Denver]``) as an
    aware datetime. A ``[zone]`` whose offset at that instant differs from the written offset is
    rejected (erratum H8; ``java.time`` silently lets the offset win)."""
    m = _ZDT.fullmatch(text.strip()) if isinstance(text, str) else None
    try:
        dt = datetime.fromisoformat(m.group(1)) if m else None
    except ValueError:
        dt = None
    if m is None or dt is None or dt.tzinfo is None:
        raise allowed("ZonedDateTime", text, "'2017-01-20T17:42:47.789-07:00[America/Denver]' (offset required)")
    if m.group(2):
        try:
            zone = ZoneInfo(m.group(2))
        except (ZoneInfoNotFoundError, ValueError):
            raise allowed("time zone", m.group(2), "an IANA zone id such as 'Asia/Shanghai'") from None
        if dt.astimezone(zone).utcoffset() != dt.utcoffset():
            raise allowed("ZonedDateTime", text, f"an offset consistent with {m.group(2)} at that instant "
                                                 f"({dt.astimezone(zone).isoformat()}); erratum H8")
    return dt


def request_instant(exchange: Exchange, epoch: datetime = EPOCH) -> datetime:
    """The wall-clock instant of virtual ``time_ms`` (virtual ms 0 is ``epoch``)."""
    from datetime import timedelta
    return epoch + timedelta(milliseconds=exchange.request.time_ms)


def _need(name: str, args: Sequence[str], low: int, high: int | None, shape: str) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise allowed(f"{name} arguments", list(args), shape)


def _regex(name: str, text: str) -> re.Pattern[str]:
    try:
        return re.compile(java_regex(text))
    except re.error as e:
        raise allowed(f"{name} regexp", text, f"a valid regular expression ({e})") from None


def after(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("After", args, 1, 1, "one ZonedDateTime")
    t = parse_zoned(args[0])
    return lambda ex: request_instant(ex) > t


def before(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Before", args, 1, 1, "one ZonedDateTime")
    t = parse_zoned(args[0])
    return lambda ex: request_instant(ex) < t


def between(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Between", args, 2, 2, "two ZonedDateTimes, the first before the second")
    t1, t2 = parse_zoned(args[0]), parse_zoned(args[1])
    if not t1 < t2:
        raise allowed("Between", list(args), "datetime1 before datetime2")
    return lambda ex: t1 < request_instant(ex) < t2


def cookie(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Cookie", args, 2, 2, "name,regexp")
    name, rx = args[0], _regex("Cookie", args[1])
    return lambda ex: any(rx.fullmatch(v) for v in ex.request.cookie(name))


def header(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Header", args, 1, 2, "name[,regexp]")
    name = args[0]
    if len(args) == 1:
        return lambda ex: bool(ex.request.header(name))
    rx = _regex("Header", args[1])
    return lambda ex: any(rx.fullmatch(v) for v in ex.request.header(name))


def query(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Query", args, 1, 2, "param[,regexp]")
    name = args[0]
    if len(args) == 1:
        return lambda ex: bool(ex.request.params(name))
    rx = _regex("Query", args[1])
    return lambda ex: any(rx.fullmatch(v) for v in ex.request.params(name))


def _put_vars(ex: Exchange, got: dict[str, str]) -> None:
    ex.attributes.setdefault(URI_TEMPLATE_VARIABLES_ATTR, {}).update(got)


def host(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Host", args, 1, None, "one or more host patterns")
    pats = [host_pattern(a) for a in args]

    def test(ex: Exchange) -> bool:
        for p in pats:
            got = p.match(ex.request.host)
            if got is not None:
                _put_vars(ex, got)
                return True
        return False
    return test


def method(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Method", args, 1, None, "one or more HTTP methods")
    for a in args:
        if a.upper() not in METHODS:
            raise allowed("Method", a, f"one of {', '.join(METHODS)}")
    wanted = {a.upper() for a in args}
    return lambda ex: ex.request.method in wanted


def path(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("Path", args, 1, None, "one or more path patterns")
    pats = [path_pattern(a) for a in args]

    def test(ex: Exchange) -> bool:
        for p in pats:
            got = p.match(ex.request.path)
            if got is not None:
                _put_vars(ex, got)
                return True
        return False
    return test


def remote_addr(args: Sequence[str]) -> Callable[[Exchange], bool]:
    _need("RemoteAddr", args, 1, None, "one or more IPs or CIDR blocks")
    nets = []
    for a in args:
        try:
            nets.append(ipaddress.ip_network(a, strict=False))
        except ValueError:
            raise allowed("RemoteAddr", a, "an IP address or CIDR block such as '192.168.1.1/24'") from None

    def test(ex: Exchange) -> bool:
        try:
            ip = ipaddress.ip_address(ex.request.remote_addr)
        except ValueError:
            return False
        return any(ip in n for n in nets)
    return test


def weight(args: Sequence[str], route_id: str = "") -> Callable[[Exchange], bool]:
    """``Weight=group,w``: true when the gateway's per-request draw for ``group`` chose this
    route (``WeightCalculatorWebFilter`` draws once per group per request; see :mod:`.gateway`)."""
    _need("Weight", args, 2, 2, "group,weight")
    group = args[0]
    return lambda ex: ex.attributes.get(WEIGHT_ATTR, {}).get(group) == route_id


def parse_weight(args: Sequence[str]) -> tuple[str, int]:
    _need("Weight", args, 2, 2, "group,weight")
    try:
        w = int(args[1])
    except ValueError:
        w = -1
    if w < 0:
        raise allowed("Weight weight", args[1], "an int >= 0")
    return args[0], w


PREDICATES: dict[str, Callable[[Sequence[str]], Callable[[Exchange], bool]]] = {
    "After": after, "Before": before, "Between": between, "Cookie": cookie, "Header": header,
    "Host": host, "Method": method, "Path": path, "Query": query, "RemoteAddr": remote_addr,
}


def build_predicate(name: str, args: Sequence[str], route_id: str = "") -> Predicate:
    """The predicate ``name`` (a key of :data:`PREDICATES` or ``Weight``) over ``args``."""
    if name == "Weight":
        parse_weight(args)
        return Predicate(name, tuple(args), weight(args, route_id))
    if name not in PREDICATES:
        raise allowed("predicate", name, f"one of {', '.join(sorted([*PREDICATES, 'Weight']))}")
    return Predicate(name, tuple(args), PREDICATES[name](args))
