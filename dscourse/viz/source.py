"""Show the algorithm: the syntax-highlighted source of a function, method or class.

``ds.show(obj)`` returns a :class:`Source`, whose display bundle holds ``text/html`` (Pygments
highlighting with inline styles, so the HTML book needs no stylesheet) and ``text/plain`` (the
source itself, for terminals, PDF export and graders). The output depends only on the code
shown: a header names the object and its file relative to the package root (no absolute
path, no line numbers that shift when code above it changes), so strict ``nbval`` compares it.

Select what matters in a long class: ``ds.show(Acceptor, methods=["on_prepare"])`` shows the
class line and those methods only; ``lines=(12, 30)`` keeps lines 12..30 (1-based, inclusive)
of the object's own source.
"""

from __future__ import annotations

import functools
import html
import inspect
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from ..errors import DscourseError, allowed

__all__ = ["Source", "SourceUnavailable", "show"]

_STYLE = "default"


class SourceUnavailable(DscourseError, TypeError):
    """The object has no Python source to show (a built-in, an instance, code typed in a REPL)."""


@dataclass(frozen=True)
class Source:
    """Source code to display: ``name`` (qualified), ``origin`` (file, relative), ``code``."""

    name: str
    origin: str
    code: str

    def __str__(self) -> str:
        return self.code

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}

    def text(self) -> str:
        """The plain-text rendering: a comment header, then the code."""
        return f"# {self.name}  ({self.origin})\n{self.code}"

    def html(self) -> str:
        """The HTML rendering: a caption, then the highlighted code with inline styles."""
        body = highlight(self.code, PythonLexer(), HtmlFormatter(style=_STYLE, noclasses=True, nobackground=False))
        caption = (f'<div style="font-size:0.85em;color:#555;margin-bottom:2px">'
                   f"<code>{html.escape(self.name)}</code> &middot; {html.escape(self.origin)}</div>")
        return f'<div class="dscourse-source">{caption}{body}</div>'


def _target(obj: Any) -> Any:
    """What holds the source: a property's getter, a partial's function, the undecorated
    function (``functools.wraps``), a bound method's function."""
    if isinstance(obj, property) and obj.fget is not None:
        obj = obj.fget
    if isinstance(obj, functools.partial):
        obj = obj.func
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if inspect.ismethod(obj):
        obj = obj.__func__
    return inspect.unwrap(obj) if callable(obj) else obj


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "?")
    qual = getattr(obj, "__qualname__", None)
    if inspect.ismodule(obj):
        return obj.__name__
    return f"{module}.{qual}" if qual else str(module)


def _origin(obj: Any) -> str:
    """The file that defines ``obj``, relative to the directory holding its top-level package."""
    try:
        path = inspect.getsourcefile(obj) or inspect.getfile(obj)
    except TypeError:
        return "?"
    module = inspect.getmodule(obj)
    top = sys.modules.get(module.__name__.split(".")[0]) if module else None
    root = getattr(top, "__file__", None)
    if root:
        base = os.path.dirname(os.path.abspath(root))        # a top-level module's folder
        if hasattr(top, "__path__"):                         # a package's parent folder
            base = os.path.dirname(base)
        rel = os.path.relpath(os.path.abspath(path), base)
        if not rel.startswith(".."):
            return rel.replace(os.sep, "/")
    return os.path.basename(path)


def _source(obj: Any) -> str:
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as exc:
        kind = type(obj).__name__
        raise SourceUnavailable(
            f"ds.show({_short(obj)}) has no Python source to show ({kind}: {exc}); expected a "
            "function, method, class or module defined in a .py file (pass the class or "
            "function, not an instance or a built-in)") from None


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _class_with(cls: type, methods: Sequence[str]) -> str:
    """The class line (with its decorators) and the chosen methods, in the order given."""
    if isinstance(methods, str):
        methods = [methods]
    full = _source(cls).splitlines()
    head: list[str] = []
    for line in full:
        head.append(line)
        if line.lstrip().startswith("class ") and line.rstrip().endswith(":"):
            break
    parts = ["\n".join(head)]
    for name in methods:
        if name not in cls.__dict__:
            options = sorted(k for k, v in vars(cls).items()
                             if inspect.isfunction(_target(v)) or isinstance(v, property))
            raise allowed("methods", name, f"methods defined in {cls.__qualname__} itself: {', '.join(options)}")
        body = _source(_target(cls.__dict__[name]))
        parts.append(textwrap.indent(body.rstrip("\n"), "    "))
    omitted = "    ...  # other methods omitted"
    return ("\n\n".join([parts[0] + "\n" + omitted, *parts[1:]])) + "\n"


def _lines(code: str, lines: tuple[int, int] | Sequence[int]) -> str:
    rows = code.splitlines()
    if (not isinstance(lines, (tuple, list)) or len(lines) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in lines)):
        raise allowed("lines", lines, "a pair (first, last) of 1-based line numbers")
    first, last = lines
    if not 1 <= first <= last <= len(rows):
        raise allowed("lines", lines, f"1 <= first <= last <= {len(rows)} (the source has {len(rows)} lines)")
    return textwrap.dedent("\n".join(rows[first - 1:last])) + "\n"


def show(obj: Any, *, methods: Sequence[str] | str | None = None,
         lines: tuple[int, int] | None = None) -> Source:
    """The source of ``obj`` (function, method, class, property or module), highlighted.

    ``methods`` (classes only): show the class line and these methods, in this order.
    ``lines``: keep only lines ``first..last`` (1-based, inclusive) of what would be shown.
    Raises :class:`SourceUnavailable` (a ``TypeError``) for objects without Python source and
    a :class:`~dscourse.errors.ConfigError` for a bad ``methods`` or ``lines``."""
    target = _target(obj)
    if methods is not None:
        if not inspect.isclass(target):
            raise allowed("methods", methods, f"None unless obj is a class (got {type(obj).__name__})")
        if not methods:
            raise allowed("methods", methods, "a non-empty list of method names")
        code = _class_with(target, methods)
    else:
        code = _source(target)
    if lines is not None:
        code = _lines(code, lines)
    return Source(name=_name(target), origin=_origin(target), code=code)

