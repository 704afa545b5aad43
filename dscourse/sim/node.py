"""The :class:`Node` base class: handlers a protocol overrides, actions it calls.

Modelled on DSLabs' ``Node`` (handlers per message and timer type, timers as data) and on
Maelstrom's node model (a node only sees messages, its timers and its own clock).

Crash and recovery (curriculum §1.1 item 4): a crash cancels the node's pending timers, drops
messages that arrive while it is down, calls ``on_crash()`` and then wipes every attribute
except ``id`` and ``stable`` (and the kernel's bookkeeping, including the node's random
stream, which continues where it was). Recovery rebuilds the object *in place* (the same
Python object, so references held elsewhere stay valid): the kernel re-runs the class's
``__init__`` with the constructor arguments the node was created with (captured by
``Node.__new__``; they are shared, not copied), hands it the same ``stable`` dict, and calls
``on_recover()``, which by default calls ``on_start()``. So ``__init__`` should only set up
volatile state from its arguments, and durable state belongs in ``self.stable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import allowed
from .errors import NotAttachedError

if TYPE_CHECKING:
    from .kernel import Simulation

# Attributes that survive a crash: the identity, durable state and the kernel's bookkeeping.
_KEPT = ("id", "stable", "rng", "_sim", "_init_args")


class _Detached:
    """Stands in for the simulation until ``add_node``; any use raises NotAttachedError."""

    def __getattr__(self, name: str) -> Any:
        raise NotAttachedError("this node is not in a simulation yet: call sim.add_node(node) first")

    def __bool__(self) -> bool:
        return False


DETACHED: Any = _Detached()


class Node:
    """A process in the simulated system. Subclass it and override the ``on_*`` handlers.

    State: ``id`` (str), ``now`` (virtual ms), ``rng`` (this node's own
    :class:`numpy.random.Generator`, stream ``"node:<id>"``), ``stable`` (a dict that
    survives crashes), ``peers`` (the other nodes' ids).
    """

    id: str
    stable: dict[str, Any]
    rng: np.random.Generator
    _sim: Simulation

    def __new__(cls, *args: Any, **kwargs: Any) -> Node:
        self = super().__new__(cls)
        self.__dict__["_init_args"] = (args, kwargs)
        return self

    def __init__(self, id: str) -> None:
        if not isinstance(id, str) or not id:
            raise allowed("node id", id, "a non-empty str")
        d = self.__dict__
        d["id"] = id
        d.setdefault("stable", {})
        d.setdefault("_sim", DETACHED)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__dict__.get('id', '?')}>"

    # -- handlers (override) ---------------------------------------------------------------
    def on_start(self) -> None:
        """Called once when the node starts (at the time it was added)."""

    def on_message(self, src: str, msg: Any) -> None:
        """Called when a message from ``src`` is delivered."""

    def on_timer(self, name: str, payload: Any) -> None:
        """Called when a timer set with ``set_timer(delay, name, payload)`` fires."""

    def on_crash(self) -> None:
        """Called as the node crashes (it can annotate, but not send or set timers)."""

    def on_recover(self) -> None:
        """Called after recovery rebuilt the node from ``__init__``; defaults to ``on_start()``."""
        self.on_start()

    # -- state -----------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Virtual time in milliseconds."""
        return self._sim.now

    @property
    def peers(self) -> tuple[str, ...]:
        """Ids of every other node, in the order they were added."""
        return self._sim._peers(self.id)

    def clock(self) -> float:
        """This node's wall clock in ms: true time plus its offset, which ``clock_jump`` and
        ``clock_strobe`` move, drift (``sim.set_clock``, ``clock_drift``) grows and NTP
        synchronisation corrects by stepping (it may go back) or slewing (see :mod:`.clock`).
        """
        return self._sim._clock(self.id)

    def monotonic(self) -> float:
        """This node's monotonic clock in ms since it was added (like ``time.monotonic``): it
        drifts with the node's oscillator but never jumps or goes back. Timers run on it."""
        return self._sim._monotonic(self.id)

    # -- actions ---------------------------------------------------------------------------
    def send(self, dst: str, msg: Any) -> int:
        """Send ``msg`` (plain data) to node ``dst``; returns the message id in the trace."""
        return self._sim._send(self.id, dst, msg)

    def _hand_over(self, dst: str, msg: Any) -> int:
        """:meth:`send` for a message built for this send and not referenced afterwards (the
        grading proxy's freshly decoded messages): the kernel skips its private copy. A
        ``send`` a harness installed on the instance (a clock or an unwrapping wrapper) still
        sees the message, and sends it the usual way."""
        wrapped = self.__dict__.get("send")
        if wrapped is not None:
            return wrapped(dst, msg)
        return self._sim._send(self.id, dst, msg, owned=True)

    def broadcast(self, msg: Any) -> list[int]:
        """Send ``msg`` to every other node; returns the message ids."""
        return self._sim._broadcast(self.id, msg)

    def set_timer(self, delay_ms: float, name: str, payload: Any = None) -> int:
        """Fire ``on_timer(name, payload)`` after ``delay_ms``; returns a handle."""
        return self._sim._set_timer(self.id, delay_ms, name, payload)

    def cancel_timer(self, handle: int) -> bool:
        """Cancel a pending timer; returns False if it already fired or was cancelled."""
        return self._sim._cancel_timer(self.id, handle)

    def annotate(self, **fields: Any) -> None:
        """Record a state change in the trace, e.g. ``self.annotate(role="leader", term=3)``."""
        self._sim._annotate(self.id, fields)


def wipe(node: Node) -> None:
    """Forget every attribute of ``node`` except those a crash keeps (see module docstring)."""
    d = node.__dict__
    kept = {k: d[k] for k in _KEPT if k in d}
    d.clear()
    d.update(kept)


def rebuild(node: Node) -> None:
    """Re-run ``__init__`` with the node's constructor arguments, keeping ``stable`` and ids."""
    d = node.__dict__
    kept = {k: d[k] for k in _KEPT if k in d}
    args, kwargs = kept["_init_args"]
    wipe(node)
    type(node).__init__(node, *args, **kwargs)
    if node.__dict__.get("id") != kept["id"]:
        raise allowed("id after recovery", node.__dict__.get("id"),
                      f"{kept['id']!r}: __init__ must give the node the same id for the same arguments")
    node.__dict__.update(kept)

