"""Spring's URL patterns, as the Path and Host predicates use them.

* :class:`PathPattern` -- Spring's ``PathPattern`` (Spring Framework reference, "URI patterns"):
  segments split on ``/``; ``?`` one character, ``*`` zero or more characters in a segment,
  ``**`` zero or more segments and ``{*name}`` the rest of the path captured (both only at the
  end), ``{name}`` one non-empty segment captured, ``{name:regex}`` a segment matching regex.
  Malformed captures are refused as Spring's ``PathPatternParser`` refuses them (a
  ``PatternParseException`` there, a :class:`~dscourse.errors.ConfigError` naming the pattern here):
  an unclosed ``{``, a stray ``}``, nested ``{``, an empty regex, a variable captured twice,
  ``{*name}`` sharing its segment, a regex that does not compile.
* :class:`HostPattern` -- ``AntPathMatcher`` with ``.`` as separator (``**.haha.com:871``;
  ``**`` may stand anywhere, ``{sub}.example.org`` captures). Its captures are checked as strictly
  (``AntPathMatcher`` would read a stray brace literally, which no legal host name contains).

``match(value)`` returns the captured template variables (a dict), or ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..errors import allowed


def java_regex(pattern: str) -> str:
    """A Java regular expression in Python's dialect: named groups ``(?<x>...)`` become ``(?P<x>...)``."""
    return re.sub(r"\(\?<([A-Za-z][A-Za-z0-9]*)>", r"(?P<\1>", pattern)


def _captures(seg: str, what: str, pattern: str) -> list[tuple[str, str, str | None]]:
    """One segment as ``(literal before, variable name, regex or None)`` triples plus a final
    ``(literal, "", None)``, scanned as Spring's ``InternalPathPatternParser.parse`` does: a ``{``
    inside a capture, a ``}`` without a ``{``, a capture left open at the end of its segment and an
    empty regex are errors (``ILLEGAL_NESTED_CAPTURE``, ``MISSING_OPEN_CAPTURE``,
    ``MISSING_CLOSE_CAPTURE``, ``MISSING_REGEX_CONSTRAINT``); a regex may hold balanced ``{...}``
    and escaped ``\\{``/``\\}`` (``skipCaptureRegex``)."""
    def bad(why: str) -> Exception:
        return allowed(what, pattern, f"balanced '{{name}}' or '{{name:regex}}' captures ({why} in segment {seg!r})")

    out, lit, i = [], [], 0
    while i < len(seg):
        c = seg[i]
        if c == "}":
            raise bad("'}' without an opening '{'")
        if c != "{":
            lit.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(seg) and seg[j] not in "{}:":
            j += 1
        if j == len(seg):
            raise bad(f"missing '}}' after {seg[i:]!r}")
        if seg[j] == "{":
            raise bad("a '{' nested inside a capture")
        name, rx = seg[i + 1:j], None
        if seg[j] == ":":
            k, depth, escaped = j + 1, 0, False
            while k < len(seg) and (escaped or depth or seg[k] != "}"):
                if not escaped:
                    depth += {"{": 1, "}": -1}.get(seg[k], 0)
                escaped = not escaped and seg[k] == "\\"
                k += 1
            if k == len(seg):
                raise bad(f"missing '}}' after {seg[i:]!r}")
            rx = seg[j + 1:k]
            if not rx:
                raise bad(f"an empty regex in {seg[i:k + 1]!r}")
            j = k
        out.append(("".join(lit), name, rx))
        lit, i = [], j + 1
    out.append(("".join(lit), "", None))
    return out


def _segment_regex(seg: str, sep: str, what: str, pattern: str) -> tuple[re.Pattern[str], list[str]]:
    """One pattern segment as a regex over one value segment (``?``, ``*``, ``{x}``, ``{x:re}``) and
    the names of its captures, in order (group ``_c{k}`` holds the k-th)."""
    out: list[str] = []
    names: list[str] = []
    parts = _captures(seg, what, pattern)
    for before, name, rx in parts[:-1]:
        out.append(_literal(before, sep))
        if name.startswith("*"):
            raise allowed(what, pattern, "'{*name}' as a whole segment on its own "
                                         "(PathPattern: CAPTURE_ALL_IS_STANDALONE_CONSTRUCT)")
        # Spring: a Java identifier start, then identifier parts or '-'
        if not (name[:1].isidentifier() and name.replace("-", "_").isidentifier()):
            raise allowed("URI template variable", name, "a name made of letters, digits, '_' and '-' "
                          f"(in {what} {pattern!r})")
        whole = len(parts) == 2 and not before and not parts[1][0]
        body = java_regex(rx) if rx else (f"[^{re.escape(sep)}]+" if whole else ".*")
        out.append(f"(?P<_c{len(names)}>{body})")
        names.append(name)
    out.append(_literal(parts[-1][0], sep))
    try:
        return re.compile("".join(out), re.DOTALL), names
    except re.error as e:
        raise allowed(what, pattern, f"a valid regex in each capture (segment {seg!r}: {e})") from None


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
        self._compiled = [None if s == "**" or s.startswith("{*") else _segment_regex(s, self.sep, self.name, pattern)
                          for s in self.segments]
        names = [n for c in self._compiled if c is not None for n in c[1]] + \
                [s[2:-1] for s in self.segments if s.startswith("{*")]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise allowed(self.name, pattern, f"each variable captured once ({', '.join(twice)} captured twice; "
                                              "PathPattern: ILLEGAL_DOUBLE_CAPTURE)")

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
        m = rx[0].fullmatch(rest[0])
        if m is None:
            return None
        after = self._match(i + 1, rest[1:])
        return None if after is None else {**{n: m.group(f"_c{k}") for k, n in enumerate(rx[1])}, **after}


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
