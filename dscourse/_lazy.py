"""Lazy loading for packages: submodules and names imported on first use, listed by ``dir()``.

A package ends its ``__init__`` with::

    __getattr__, __dir__ = lazy(__name__, globals(), submodules=("labs",),
                                attributes={"visualizer": "labs"})

so ``pkg.labs`` imports ``pkg.labs`` and ``pkg.visualizer`` imports ``pkg.labs`` and returns
its ``visualizer``, both on first access (PEP 562), and ``dir(pkg)`` lists them before they are
loaded, so tab completion offers them (``dir`` lists the package's ``__all__``, its lazy
submodules and names, and its dunders). ``submodules=None`` makes every submodule found on the
package's path lazy (``import dscourse as ds; ds.raft``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy(package: str, namespace: dict[str, Any], submodules: Iterable[str] | None = None,
         attributes: Mapping[str, str] | None = None) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module-level ``__getattr__`` and ``__dir__`` for ``package`` (see the module docstring).

    ``namespace`` is the package's ``globals()``; ``attributes`` maps a public name to the
    submodule that defines it."""
    if submodules is None:
        path = namespace.get("__path__", ())
        submodules = [m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_")]
    modules = frozenset(submodules)
    names = dict(attributes or {})

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        elif name in modules:
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name == f"{package}.{name}":
                    raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
                raise
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        public = namespace.get("__all__")
        if public is None:
            public = [k for k in namespace if not k.startswith("_")]
        dunders = [k for k in namespace if k.startswith("__") and k.endswith("__")]
        return sorted({*dunders, *public, *modules, *names})

    return __getattr__, __dir__


def lazy_submodules(package: str, names: Iterable[str] | None = None) -> Callable[[str], Any]:
    """``__getattr__ = lazy_submodules(__name__, names)``: :func:`lazy` for submodules only
    (``names``, or all); it installs the matching ``__dir__`` on the package itself."""
    module = sys.modules[package]
    getattr_, dir_ = lazy(package, vars(module), names)
    module.__dir__ = dir_  # type: ignore[method-assign]  # PEP 562: a module may set its own __dir__
    return getattr_
