"""dscourse: the library behind the interactive distributed-systems textbook.

``import dscourse as ds`` gives every topic package as an attribute (``ds.sim``, ``ds.viz``,
``ds.grading``, ...), imported on first use so that the import stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError, DscourseError
from .notebook import setup

__version__ = "0.1.0"
__all__ = ["ConfigError", "DscourseError", "__version__", "setup"]


def __getattr__(name: str) -> Any:
    """Import ``dscourse.<name>`` lazily, so new topic packages need no registration here."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"module 'dscourse' has no attribute {name!r}") from None
        raise
    globals()[name] = module
    return module
