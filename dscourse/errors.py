"""The one exception hierarchy of dscourse.

Every error the library raises derives from :class:`DscourseError`. Errors caused by bad
configuration or bad arguments are also :class:`ValueError`, so ``except ValueError`` works
as a reader would expect. Messages name the offending value and what is allowed.
"""

from __future__ import annotations


class DscourseError(Exception):
    """Base class of every error raised by dscourse."""


class ConfigError(DscourseError, ValueError):
    """A bad argument or configuration value (also a ``ValueError``)."""


def allowed(what: str, value: object, expected: str) -> ConfigError:
    """Build the standard message: ``what`` got ``value``; ``expected`` says what is allowed."""
    return ConfigError(f"{what}={value!r} is not allowed: expected {expected}")
