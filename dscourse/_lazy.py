"""Lazy submodules: ``package.<name>`` imported on first attribute access."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from types import ModuleType


def lazy_submodules(package: str, names: Iterable[str] | None = None) -> Callable[[str], ModuleType]:
    """A module-level ``__getattr__`` for ``package`` that imports ``package.<name>`` on first
    use and caches it as an attribute; with ``names``, only those submodules are lazy."""
    allowed = None if names is None else frozenset(names)

    def __getattr__(name: str) -> ModuleType:
        if name.startswith("_") or (allowed is not None and name not in allowed):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package}.{name}":
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
            raise
        setattr(sys.modules[package], name, module)
        return module

    return __getattr__
