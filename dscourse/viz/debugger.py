"""The message debugger: the reader is the network scheduler.

After DSLabs' visual debugger (Michael et al., "Teaching Rigorous Distributed Systems With
Efficient Model Checking", EuroSys 2019, §5): the widget lists every pending delivery and
timer (``sim.pending()``, TRACE.md's controlled-scheduling API) and lets the reader choose
which happens next, or drop or duplicate a pending message. Every choice is logged, so
*undo* rebuilds the simulation from its seed and replays the log without the last choice.
Pending ids are the kernel's insertion counters, hence the same in every replay.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..errors import allowed
from .player import Op, Player

CHOICES = ("fire", "drop", "duplicate")


def describe(p: Any) -> str:
    """One line for a pending delivery or timer: id, time, what, where."""
    t = p.time / 1000
    if p.kind == "deliver":
        return f"#{p.id} @{t:g} ms  {p.peer} → {p.node}  {p.label} {_short(p.msg)}"
    return f"#{p.id} @{t:g} ms  timer {p.label!r} on {p.node}"


def _short(msg: Any) -> str:
    text = repr(msg)
    return text if len(text) <= 40 else text[:37] + "..."


class Debugger(Player):
    """A :class:`Player` whose reader chooses the next event (see module docstring).

    ``fire(id)``, ``drop(id)`` and ``duplicate(id)`` are what the buttons do with the
    selected entry of :meth:`pending`; ``step()`` still runs the next event in normal order.
    """

    def pending(self) -> list[Any]:
        """The simulation's pending deliveries and timers, in the order they would fire."""
        return list(self.sim.pending())

    def choices(self) -> list[str]:
        """The pending list as the widget shows it."""
        return [describe(p) for p in self.pending()]

    def _choose(self, kind: str, pending_id: int) -> Any:
        if isinstance(pending_id, bool) or not isinstance(pending_id, int):
            raise allowed("pending id", pending_id, "an int id from pending()")
        result = self._apply((kind, pending_id))
        self._record((kind, pending_id))
        self.view_time = None
        self.refresh()
        return result

    def fire(self, pending_id: int) -> Any:
        """Let pending delivery or timer ``pending_id`` happen now."""
        return self._choose("fire", pending_id)

    def drop(self, pending_id: int) -> Any:
        """Lose pending delivery ``pending_id`` (trace reason "debugger")."""
        return self._choose("drop", pending_id)

    def duplicate(self, pending_id: int) -> Any:
        """Add a second copy of pending delivery ``pending_id``; returns the copy's id."""
        return self._choose("duplicate", pending_id)

    def _apply_other(self, op: Op) -> Any:
        kind, pending_id = op
        if kind not in CHOICES:
            raise allowed("operation", op, "step, run, action, fire, drop or duplicate")
        return getattr(self.sim, kind)(pending_id)

    # -- the widget --------------------------------------------------------------------------
    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        W = self._widgets
        W["pending"] = w.Select(options=[], rows=6, description="pending",
                                layout=w.Layout(width="520px"))
        buttons = [self._button(kind, partial(self._on_choice, kind)) for kind in CHOICES]
        return [w.HBox([W["pending"], w.VBox(buttons)])]

    def _on_choice(self, kind: str) -> None:
        selected = self._widgets["pending"].value
        if selected is not None:
            self._choose(kind, selected)

    def _refresh_extra(self) -> None:
        box = self._widgets.get("pending")
        if box is not None:
            box.options = [(describe(p), p.id) for p in self.pending()]
            box.value = box.options[0][1] if box.options else None
