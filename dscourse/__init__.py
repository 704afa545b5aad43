"""dscourse: the library behind the interactive distributed-systems textbook.

``import dscourse as ds`` gives every topic package as an attribute (``ds.sim``, ``ds.viz``,
``ds.grading``, ...), imported on first use so that the import stays fast.
"""

from __future__ import annotations

from ._lazy import lazy_submodules
from .errors import ConfigError, DscourseError
from .notebook import setup

__version__ = "0.1.0"
__all__ = ["ConfigError", "DscourseError", "__version__", "setup"]

__getattr__ = lazy_submodules(__name__)
