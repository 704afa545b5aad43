"""Trusted harness for E12.5: Dubbo's ``ExtensionLoader`` as a plain function of plain data.

``extension_chain(files, spi, name, url) -> [class, ...] | None``: ``files`` are resource
texts (``META-INF/dubbo/<interface>``, scanned in order), one ``name=module:Class`` a line;
``spi`` is ``{"default": name or None, "keys": [URL parameter, ...], "wrappers": {class:
order}}`` (the ``@SPI`` value, the ``@Adaptive`` keys, and which classes are wrappers -- in
Java those whose constructor takes the interface -- with their ``@Wrapper`` order). The answer
is the chain of classes a call goes through, wrappers outermost first, then the extension's
class; ``None`` where Dubbo throws (unknown name, no default, a duplicate name).

Dubbo's documented behaviour the conformance table checks (Dubbo docs, "Extension Point
Development Guide" and "SPI extension implementation"; ``ExtensionLoader.loadResource``,
``saveInExtensionClass``, ``createExtension`` and the generated ``$Adaptive`` classes): ``#``
starts a comment, whitespace around names and classes is trimmed, blank lines are skipped;
``getExtension(name)`` of an unknown name fails; ``@SPI("x")`` names the default; the adaptive
extension reads the first ``@Adaptive`` key with a non-empty URL value
(``url.getParameter(k1, url.getParameter(k2, default))``) and fails on an unknown value rather
than falling back; a wrapper class is not a named extension, wraps every extension once, and
wrappers are sorted by order, the lowest outermost; a name bound to two different classes is
refused ("Duplicate extension"), the same class twice is fine. Random files are checked against
the library's :class:`~dscourse.rpc.spi.ExtensionLoader` (``duplicates="refuse"``,
``wrapper_orders``), which the tests check against the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..sim import stream
from .spi import ExtensionLoader

Fn = Callable[..., Any]

SPI_PROPERTIES = ("names", "default", "adaptive", "wrappers", "duplicates", "reference")

_LB = "dscourse.rpc.loadbalance:"
LOAD_BALANCE = f"""\
# META-INF/dubbo/internal/org.apache.dubbo.rpc.cluster.LoadBalance
random={_LB}RandomLoadBalance
roundrobin = {_LB}RoundRobinLoadBalance   # smooth weighted
   leastactive={_LB}LeastActiveLoadBalance

# shortestresponse={_LB}ShortestResponseLoadBalance
consistenthash  =  {_LB}ConsistentHashLoadBalance
"""
MY_LB = "# META-INF/dubbo/org.apache.dubbo.rpc.cluster.LoadBalance (an application's own)\np2c=shop.lb:P2CLoadBalance\n"
LB_SPI: dict[str, Any] = {"default": "random", "keys": ["loadbalance"], "wrappers": {}}

_P = "demo.protocol:"
PROTOCOL = f"""\
# META-INF/dubbo/internal/org.apache.dubbo.rpc.Protocol
filter={_P}ProtocolFilterWrapper
dubbo={_P}DubboProtocol
listener={_P}ProtocolListenerWrapper
tri={_P}TripleProtocol
mock={_P}MockProtocol
"""
PROTOCOL_SPI: dict[str, Any] = {"default": "dubbo", "keys": ["protocol"],
                                "wrappers": {f"{_P}ProtocolFilterWrapper": 10, f"{_P}ProtocolListenerWrapper": 0,
                                             f"{_P}QosProtocolWrapper": -5}}
FILTER_FIRST = [f"{_P}ProtocolListenerWrapper", f"{_P}ProtocolFilterWrapper"]


def _spi(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


# (property, what it checks, files, spi, name, url, expected chain or None)
CONFORMANCE: list[tuple[str, str, list[str], dict[str, Any], str | None, dict[str, str], list[str] | None]] = [
    ("names", "a name with spaces around '=' and a comment after the class", [LOAD_BALANCE], LB_SPI, "roundrobin",
     {}, [f"{_LB}RoundRobinLoadBalance"]),
    ("names", "an indented line", [LOAD_BALANCE], LB_SPI, "leastactive", {}, [f"{_LB}LeastActiveLoadBalance"]),
    ("names", "spaces on both sides of '='", [LOAD_BALANCE], LB_SPI, "consistenthash", {},
     [f"{_LB}ConsistentHashLoadBalance"]),
    ("names", "an unknown name", [LOAD_BALANCE], LB_SPI, "p2c", {}, None),
    ("names", "a name that appears only in a comment", [LOAD_BALANCE], LB_SPI, "shortestresponse", {}, None),
    ("names", "a name from the second file", [LOAD_BALANCE, MY_LB], LB_SPI, "p2c", {}, ["shop.lb:P2CLoadBalance"]),
    ("names", "an explicit name, whatever the URL says", [LOAD_BALANCE], LB_SPI, "random",
     {"loadbalance": "leastactive"}, [f"{_LB}RandomLoadBalance"]),
    ("default", "no name and no URL parameter: the @SPI default", [LOAD_BALANCE], LB_SPI, None, {},
     [f"{_LB}RandomLoadBalance"]),
    ("default", "an empty URL value counts as absent", [LOAD_BALANCE], LB_SPI, None, {"loadbalance": ""},
     [f"{_LB}RandomLoadBalance"]),
    ("default", "other URL parameters only", [LOAD_BALANCE], LB_SPI, None, {"timeout": "1000", "lb": "roundrobin"},
     [f"{_LB}RandomLoadBalance"]),
    ("default", "no @SPI default and no URL value", [LOAD_BALANCE], _spi(LB_SPI, default=None), None, {}, None),
    ("default", "no @Adaptive keys: the default", [LOAD_BALANCE], _spi(LB_SPI, keys=[]), None,
     {"loadbalance": "roundrobin"}, [f"{_LB}RandomLoadBalance"]),
    ("default", "an @SPI default no file names", [LOAD_BALANCE], _spi(LB_SPI, default="p2c"), None, {}, None),
    ("adaptive", "the URL parameter names the extension", [LOAD_BALANCE], LB_SPI, None, {"loadbalance": "leastactive"},
     [f"{_LB}LeastActiveLoadBalance"]),
    ("adaptive", "an unknown URL value fails (no fallback to the default)", [LOAD_BALANCE], LB_SPI, None,
     {"loadbalance": "p2c"}, None),
    ("adaptive", "the second key when the first is absent", [LOAD_BALANCE], _spi(LB_SPI, keys=["loadbalance", "lb"]),
     None, {"lb": "consistenthash"}, [f"{_LB}ConsistentHashLoadBalance"]),
    ("adaptive", "the first key wins", [LOAD_BALANCE], _spi(LB_SPI, keys=["loadbalance", "lb"]), None,
     {"lb": "consistenthash", "loadbalance": "random"}, [f"{_LB}RandomLoadBalance"]),
    ("adaptive", "an empty first key falls through to the second", [LOAD_BALANCE],
     _spi(LB_SPI, keys=["loadbalance", "lb"]), None, {"loadbalance": "", "lb": "leastactive"},
     [f"{_LB}LeastActiveLoadBalance"]),
    ("adaptive", "a value from the second file", [LOAD_BALANCE, MY_LB], LB_SPI, None, {"loadbalance": "p2c"},
     ["shop.lb:P2CLoadBalance"]),
    ("wrappers", "lowest order outermost, whatever the file order", [PROTOCOL], PROTOCOL_SPI, "tri", {},
     [*FILTER_FIRST, f"{_P}TripleProtocol"]),
    ("wrappers", "wrappers wrap the default too", [PROTOCOL], PROTOCOL_SPI, None, {},
     [*FILTER_FIRST, f"{_P}DubboProtocol"]),
    ("wrappers", "and every named extension", [PROTOCOL], PROTOCOL_SPI, "mock", {},
     [*FILTER_FIRST, f"{_P}MockProtocol"]),
    ("wrappers", "a wrapper's line names no extension", [PROTOCOL], PROTOCOL_SPI, "filter", {}, None),
    ("wrappers", "equal orders: the first listed is outermost", [PROTOCOL],
     _spi(PROTOCOL_SPI, wrappers={f"{_P}ProtocolFilterWrapper": 3, f"{_P}ProtocolListenerWrapper": 3}), "dubbo", {},
     [f"{_P}ProtocolFilterWrapper", f"{_P}ProtocolListenerWrapper", f"{_P}DubboProtocol"]),
    ("wrappers", "a wrapper no file lists is not applied; one listed twice wraps once",
     [PROTOCOL, f"qos={_P}QosProtocolWrapper\nlistener2 = {_P}ProtocolListenerWrapper\n"],
     PROTOCOL_SPI, "dubbo", {}, [f"{_P}QosProtocolWrapper", *FILTER_FIRST, f"{_P}DubboProtocol"]),
    ("wrappers", "no wrapper class listed: the extension alone", [LOAD_BALANCE],
     _spi(LB_SPI, wrappers={f"{_P}ProtocolFilterWrapper": 1}), "random", {}, [f"{_LB}RandomLoadBalance"]),
    ("duplicates", "the same class under the same name twice is fine", [LOAD_BALANCE, f"random={_LB}RandomLoadBalance"],
     LB_SPI, "random", {}, [f"{_LB}RandomLoadBalance"]),
    ("duplicates", "a name bound to two classes (two files) is refused", [LOAD_BALANCE, "random=shop.lb:MyRandom"],
     LB_SPI, "random", {}, None),
    ("duplicates", "... and so is the default that is such a name", [LOAD_BALANCE, "random=shop.lb:MyRandom"],
     LB_SPI, None, {}, None),
    ("duplicates", "... while the other names still work", [LOAD_BALANCE, "random=shop.lb:MyRandom"],
     LB_SPI, "leastactive", {}, [f"{_LB}LeastActiveLoadBalance"]),
    ("duplicates", "a name bound to two classes in one file is refused",
     [f"{LOAD_BALANCE}leastactive={_LB}ShortestResponseLoadBalance\n"], LB_SPI, "leastactive", {}, None),
]


def reference_extension_chain(files: list[str], spi: dict[str, Any], name: str | None,
                              url: dict[str, str]) -> list[str] | None:
    """The library's :class:`ExtensionLoader` on the same files: its :meth:`chain`, or None
    where it raises (as Dubbo throws)."""
    keys = tuple(spi.get("keys") or ())

    def build(default: str | None) -> ExtensionLoader:
        return ExtensionLoader("E12.5", list(files), default=default, key=keys or None,
                               wrapper_orders=dict(spi.get("wrappers") or {}), duplicates="refuse")

    try:
        loader = build(spi.get("default"))
    except ValueError:                   # an @SPI default no file names: using it fails, as in Dubbo
        loader = build(None)
    try:
        if name is None:
            name = loader.adaptive_name(url) if keys else loader.default
        return loader.chain(name) if name is not None else None
    except ValueError:
        return None


def _show(files: list[str], spi: dict[str, Any], name: str | None, url: dict[str, str]) -> str:
    return f"extension_chain({str(files)[:1200]}, {spi}, {name!r}, {url})"


def _ask(fn: Fn, files: list[str], spi: dict[str, Any], name: str | None, url: dict[str, str],
         ) -> tuple[Any, str | None]:
    res = fn(list(files), {**spi, "keys": list(spi.get("keys") or ()), "wrappers": dict(spi.get("wrappers") or {})},
             name, dict(url))
    if res is not None and (not isinstance(res, (list, tuple)) or not res
                            or not all(isinstance(c, str) for c in res)):
        return None, (f"{_show(files, spi, name, url)} returned {str(res)[:120]}: expected a non-empty list of "
                      "class names (wrappers outermost first, then the extension's), or None")
    return (None if res is None else list(res)), None


_NAMES = ["random", "roundrobin", "leastactive", "shortestresponse", "consistenthash", "p2c", "adaptive"]
_CLASSES = ["RandomLoadBalance", "RoundRobinLoadBalance", "LeastActiveLoadBalance", "ShortestResponseLoadBalance",
            "ConsistentHashLoadBalance", "P2CLoadBalance", "AdaptiveLoadBalance", "MyBalancer"]
_WRAPPERS = ["shop.aop:TracingWrapper", "shop.aop:MetricsWrapper", "shop.aop:RetryWrapper", "shop.aop:AuthWrapper"]


def random_case(rng: Any) -> tuple[list[str], dict[str, Any], str | None, dict[str, str]]:
    """Random files (comments, blank lines, stray whitespace, duplicate names with the same or
    another class, wrapper lines), a random ``@SPI``/``@Adaptive`` setup and a random request."""
    wrappers = {w: int(rng.integers(-2, 3)) for w in _WRAPPERS if rng.random() < 0.5}
    files = []
    for f in range(int(rng.integers(1, 4))):
        lines = [f"# resource {f}"] if rng.random() < 0.5 else []
        for _ in range(int(rng.integers(1, 6))):
            r = rng.random()
            if r < 0.12:
                lines.append("" if rng.random() < 0.5 else "   # " + str(_NAMES[int(rng.integers(0, 7))]))
                continue
            if r < 0.3 and wrappers:
                target = _WRAPPERS[int(rng.integers(0, 4))]
                name = target.split(":")[1].lower().removesuffix("wrapper")
            else:
                name = _NAMES[int(rng.integers(0, 7))]
                target = f"{'shop.lb' if rng.random() < 0.15 else 'dscourse.rpc.loadbalance'}:" \
                         f"{_CLASSES[int(rng.integers(0, 8))] if rng.random() < 0.2 else _CLASSES[_NAMES.index(name)]}"
            pad = [" " * int(rng.integers(0, 3)) for _ in range(4)]
            tail = f"  # {name}" if rng.random() < 0.2 else ""
            lines.append(f"{pad[0]}{name}{pad[1]}={pad[2]}{target}{pad[3]}{tail}")
        files.append("\n".join(lines) + ("\n" if rng.random() < 0.7 else ""))
    keys = [["loadbalance"], ["loadbalance", "lb"], []][int(rng.integers(0, 3))]
    default = [None, *_NAMES][int(rng.integers(0, 8))]
    spi = {"default": default, "keys": keys, "wrappers": wrappers}
    if rng.random() < 0.4:
        return files, spi, _NAMES[int(rng.integers(0, 7))], {}
    url = {k: ["", *_NAMES][int(rng.integers(0, 8))] for k in ("loadbalance", "lb", "timeout") if rng.random() < 0.5}
    return files, spi, None, url


def spi_trial(extension_chain: Fn, seed: int, *, cases: int = 150,
              properties: Iterable[str] = SPI_PROPERTIES) -> Trial:
    """``names``, ``default``, ``adaptive``, ``wrappers``, ``duplicates``: the rows of
    :data:`CONFORMANCE` for that property; ``reference``: ``cases`` random files and requests
    (:func:`random_case`) against :func:`reference_extension_chain`."""
    props = selected(properties, SPI_PROPERTIES)
    trial, problems = Trial(seed), dict[str, str]()
    for prop, what, files, spi, name, url, want in CONFORMANCE:
        if prop not in props:
            continue
        got, err = _ask(extension_chain, files, spi, name, url)
        if err:
            return trial.fail(err)
        if got != want and prop not in problems:
            problems[prop] = f"{prop}: {what}: {_show(files, spi, name, url)} returned {got}; expected {want}"
    if "reference" in props:
        rng = stream(seed, "E12.5")
        drawn = [random_case(rng) for _ in range(cases)]
        drawn.sort(key=lambda c: sum(map(len, c[0])))       # smallest first: a violation shows the smallest case
        for files, spi, name, url in drawn:
            got, err = _ask(extension_chain, files, spi, name, url)
            if err:
                return trial.fail(err)
            want = reference_extension_chain(files, spi, name, url)
            if got != want:
                problems["reference"] = (f"reference: {_show(files, spi, name, url)} returned {got}; expected "
                                         f"{want}")
                break
    for p in props:
        if p in problems:
            trial.violate(problems[p])
    return trial
