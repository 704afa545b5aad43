"""The ``dscourse`` the grading child sees (copied into the sandbox as ``dscourse/__init__.py``).

Only what answer cells may use: ``ds.sim.Node`` whose actions are *recorded* (the trusted
parent runs the real simulation and applies them) and harmless no-ops for notebook helpers.
The library's reference implementations are not here; importing them is blocked and reported.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__version__ = "sandbox"

_ACTIONS: list = []          # the current handler call's actions, drained by the runner
_DETACHED = [False]          # True while the runner constructs a node (not yet in a simulation)


class NotAttachedError(ValueError):
    """As ``dscourse.sim.errors.NotAttachedError``: a node acting before it is in a simulation
    (e.g. sending in ``__init__``). In the notebook that raises; so it does here, naming the
    answer cell's line (a recorded action would otherwise be silently lost)."""


def _attached(action: str) -> None:
    if not _DETACHED[0]:
        return
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and not frame.f_code.co_filename.startswith("<answer"):
        frame = frame.f_back
    where = f" ({frame.f_code.co_filename[1:-1]}, line {frame.f_lineno})" if frame else ""
    raise NotAttachedError(f"{action}() in __init__{where}: this node is not in a simulation yet "
                           "(as in the notebook, a node may act from on_start on, not in __init__)")
# What a crash keeps: ``sim.node._KEPT`` (id, stable, rng, _init_args; the kernel's ``_sim``
# has no counterpart here) plus this stand-in's own bookkeeping, which the parent's kernel
# owns in the real thing. tests/grading/test_shim_in_step.py keeps the two in step.
_KEPT = ("id", "stable", "rng", "_init_args", "_now", "_clock", "_peers", "_timer_seq")


class Node:
    """Stand-in for ``dscourse.sim.Node``: same handlers and actions, recorded as data."""

    id: str
    stable: dict
    _now: float                 # virtual time of the current handler call (set by the runner)
    _peers: tuple[str, ...]     # the other nodes' ids (set by the runner)
    _timer_seq: list[int]       # the last timer handle, in a list so a crash keeps it

    def __new__(cls, *args: Any, **kwargs: Any) -> Node:
        self = super().__new__(cls)
        self.__dict__["_init_args"] = (args, kwargs)
        return self

    def __init__(self, id: str) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError(f"node id={id!r} is not allowed: expected a non-empty str")
        d = self.__dict__
        d["id"] = id
        d.setdefault("stable", {})
        d.setdefault("_now", 0.0)
        d.setdefault("_peers", ())
        d.setdefault("_timer_seq", [0])

    def on_start(self) -> None: ...
    def on_message(self, src: str, msg: Any) -> None: ...
    def on_timer(self, name: str, payload: Any) -> None: ...
    def on_crash(self) -> None: ...

    def on_recover(self) -> None:
        self.on_start()

    @property
    def now(self) -> float:
        return self._now

    @property
    def peers(self) -> tuple:
        return tuple(self._peers)

    def clock(self) -> float:
        """This node's local clock (ms), as the parent's simulation reports it."""
        return float(self.__dict__.get("_clock", self._now))

    def send(self, dst: str, msg: Any) -> None:
        _attached("send")
        _ACTIONS.append(("send", dst, msg))

    def broadcast(self, msg: Any) -> None:
        _attached("broadcast")
        for dst in self._peers:
            _ACTIONS.append(("send", dst, msg))

    def set_timer(self, delay_ms: float, name: str, payload: Any = None) -> int:
        _attached("set_timer")
        self._timer_seq[0] += 1
        handle = self._timer_seq[0]
        _ACTIONS.append(("timer", handle, delay_ms, name, payload))
        return handle

    def cancel_timer(self, handle: int) -> bool:
        _attached("cancel_timer")
        _ACTIONS.append(("cancel", handle))
        return True

    def annotate(self, **fields: Any) -> None:
        _attached("annotate")
        _ACTIONS.append(("annotate", fields))


def _wipe(node: Node) -> None:
    d = node.__dict__
    kept = {k: d[k] for k in _KEPT if k in d}
    d.clear()
    d.update(kept)


def _rebuild(node: Node) -> None:
    d = node.__dict__
    kept = {k: d[k] for k in _KEPT if k in d}
    args, kwargs = kept["_init_args"]
    _wipe(node)
    type(node).__init__(node, *args, **kwargs)
    if node.__dict__.get("id") != kept["id"]:
        raise ValueError(f"id after recovery={node.__dict__.get('id')!r} is not allowed: expected "
                         f"{kept['id']!r}: __init__ must give the node the same id for the same "
                         "arguments")
    node.__dict__.update(kept)


def setup(seed: int = 0) -> int:
    """No-op in the grader (notebooks call ``ds.setup`` at the top)."""
    return seed


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


sim = types.ModuleType("dscourse.sim")
vars(sim).update(Node=Node)
grading = types.ModuleType("dscourse.grading")
vars(grading).update(check=_noop, summary=_noop, test=lambda *a, **k: (lambda f: f))
sys.modules["dscourse.sim"] = sim
sys.modules["dscourse.grading"] = grading
