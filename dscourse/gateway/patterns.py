"""Spring's URL patterns, as the Path and Host predicates use them.

* :class:`PathPattern` -- Spring's ``PathPattern`` (Spring Framework reference, "URI patterns"):
  segments split on ``/``; ``?`` one character, ``*`` zero or more characters in a segment,
  ``**`` zero or more segments and ``{*name}`` the rest of the path captured (both only at the
  end), ``{name}`` one non-empty segment captured, ``{name:regex}`` a segment matching regex.
* :class:`HostPattern` -- ``AntPathMatcher`` with ``.`` as separator (``**.haha.com:871``;
  ``**`` may stand anywhere, ``{sub}.example.org`` captures).

``match(value)`` returns the captured template variables (a dict), or ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..errors import allowed

_VAR = re.compile(r"\{([^{}:]+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")


def java_regex(pattern: str) -> str:
    """A Java regular expression in Python's dialect: named groups ``(?<x>...)`` become ``(?P<x>...)``."""
    return re.sub(r"\(\?<([A-Za-z][A-Za-z0-9]*)>", r"(?P<\1>", pattern)


def _segment_regex(seg: str, sep: str) -> re.Pattern[str]:
    """One pattern segment as a regex over one value segment (``?``, ``*``, ``{x}``, ``{x:re}``)."""
    out, pos = [], 0
    for m in _VAR.finditer(seg):
        out.append(_literal(seg[pos:m.start()], sep))
        name, rx = m.group(1), m.group(2)
        if not name.isidentifier():
            raise allowed("URI template variable", name, "a name made of letters, digits and '_'")
        whole = m.start() == 0 and m.end() == len(seg)
        body = java_regex(rx) if rx else (f"[^{re.escape(sep)}]+" if whole else ".*")
        out.append(f"(?P<{name}>{body})")
        pos = m.end()
    out.append(_literal(seg[pos:], sep))
    return re.compile("".join(out), re.DOTALL)


def _literal(text: str, sep: str) -> str:
    return "".join("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in text)


class _AntPattern:
    sep = "/"
    name = "pattern"

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str) or not pattern:
            raise allowed(self.name, pattern, "a non-empty string")
        self.pattern = pattern
        self.segments = self._split(pattern)
        self._compiled = [None if s in ("**",) or s.startswith("{*") else _segment_regex(s, self.sep)
                          for s in self.segments]

    def _split(self, text: str) -> list[str]:
        return [s for s in text.split(self.sep) if s != ""]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pattern!r})"

    def match(self, value: str) -> dict[str, str] | None:
        """The template variables if ``value`` matches the whole pattern, else ``None``."""
        if not isinstance(value, str):
            return None
        return self._match(0, tuple(self._split(value)))

    def _match(self, i: int, rest: tuple[str, ...]) -> dict[str, str] | None:
        if i == len(self.segments):
            return {} if not rest else None
        seg, rx = self.segments[i], self._compiled[i]
        if seg == "**":
            for k in range(len(rest) + 1):
                got = self._match(i + 1, rest[k:])
                if got is not None:
                    return got
            return None
        if seg.startswith("{*"):
            return {seg[2:-1]: "/" + "/".join(rest) if rest else ""}
        if not rest or rx is None:
            return None
        m = rx.fullmatch(rest[0])
        if m is None:
            return None
        after = self._match(i + 1, rest[1:])
        return None if after is None else {**m.groupdict(), **after}


class PathPattern(_AntPattern):
    """Spring's ``PathPattern``; see the module docstring."""

    sep = "/"
    name = "Path pattern"

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        if not pattern.startswith("/"):
            raise allowed(self.name, pattern, "a pattern starting with '/'")
        for k, seg in enumerate(self.segments):
            if (seg == "**" or seg.startswith("{*")) and k != len(self.segments) - 1:
                raise allowed(self.name, pattern, "'**' and '{*name}' only as the last segment "
                                                  "(PathPattern: no more pattern data allowed after them)")
            if seg.startswith("{*") and not (seg.endswith("}") and seg[2:-1].isidentifier()):
                raise allowed(self.name, pattern, "'{*name}' capturing the rest of the path")

    def match(self, value: str) -> dict[str, str] | None:
        if not isinstance(value, str) or not value.startswith("/"):
            return None
        # a literal trailing slash must match a trailing slash (matchTrailingSlash=false, SCG 4.x)
        if value != "/" and value.endswith("/") != self.pattern.endswith("/") \
                and not (self.segments and (self.segments[-1] == "**" or self.segments[-1].startswith("{*"))):
            return None
        return super().match(value)


class HostPattern(_AntPattern):
    """``AntPathMatcher`` with ``.`` as the separator, as the Host predicate uses it."""

    sep = "."
    name = "Host pattern"


@lru_cache(maxsize=512)
def path_pattern(pattern: str) -> PathPattern:
    return PathPattern(pattern)


@lru_cache(maxsize=512)
def host_pattern(pattern: str) -> HostPattern:
    return HostPattern(pattern)
