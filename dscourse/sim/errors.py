"""Errors raised by the simulation kernel.

Every one is a :class:`dscourse.errors.ConfigError`, hence also a ``ValueError``; messages
name the offending value and what is allowed.
"""

from __future__ import annotations

from ..errors import ConfigError


class UnknownNodeError(ConfigError, KeyError):
    """A node id that is not part of the simulation."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DuplicateNodeError(ConfigError):
    """A second node with an id that is already taken."""


class NegativeDelayError(ConfigError):
    """A negative delay, latency, pause or time."""


class ProbabilityError(ConfigError):
    """A probability outside [0, 1]."""


class NodeCrashedError(ConfigError):
    """An action by, or on, a node that is crashed."""


class NodeStateError(ConfigError):
    """A fault that does not fit the node's state (e.g. recovering a node that is up)."""


class NotAttachedError(ConfigError):
    """A node used before :meth:`Simulation.add_node` attached it."""


class MessageNotDataError(ConfigError):
    """A message, timer payload or annotation that is not plain data (e.g. a function)."""


class NemesisError(ConfigError):
    """A malformed nemesis schedule entry."""


class UnknownPendingError(ConfigError):
    """A controlled-scheduling id that is not pending (or not of the right kind)."""
