"""The Player: play, pause, step, scrub, speed, seed and reset around a simulation factory.

``Player(make_sim)`` owns a simulation built by ``make_sim(seed)`` and a log of what the
reader did to it (steps, runs, chapter actions). Because a run is a pure function of the
seed and that log, *reset*, *undo* and changing the seed simply rebuild the simulation and
replay the log. Scrubbing moves a view cursor back in virtual time and redraws the pictures
from the trace; it does not change the simulation.

Every button calls a public method (``step``, ``run``, ``play``, ``pause``, ``scrub``,
``reset``, ``undo``, ``do``), so tests and notebooks drive the widget without a browser.
Playing uses ``ipywidgets.Play`` (the front end ticks; the library has no threads and no
wall clock): each tick runs ``speed`` events.

Chapters extend the control bar with :meth:`Player.add_action`::

    player = ds.viz.Player(make_sim, seed=1)
    player.add_action("crash b", lambda sim: sim.crash("b"))
    player.add_action("heal", lambda sim: sim.heal())
    player.do("crash b")          # what the button does
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from matplotlib.figure import Figure

from ..errors import ConfigError, allowed
from ..notebook import default_seed
from .cluster import ClusterView, cluster_figure
from .display import bundle, figure_png, new_figure
from .scene import US_PER_MS, events_of
from .spacetime import spacetime

VIEWS = ("cluster", "spacetime")
Op = tuple[Any, ...]


def _valid_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise allowed("seed", seed, "a non-negative int")
    return seed


class Player:
    """Interactive controls around ``make_sim(seed) -> Simulation`` (see module docstring).

    ``views`` picks the pictures (``"cluster"``, ``"spacetime"`` or both); ``window_ms``
    shows only the last ``window_ms`` of the space-time diagram (``None``: everything);
    ``nodes`` orders the lanes; ``speed`` is the number of events per play tick.
    """

    def __init__(self, make_sim: Callable[[int], Any], *, seed: int | None = None,
                 views: Iterable[str] = VIEWS, window_ms: float | None = None,
                 nodes: Iterable[str] | None = None, speed: int = 1, interval_ms: int = 400) -> None:
        if not callable(make_sim):
            raise allowed("make_sim", make_sim, "a function seed -> Simulation")
        self.views = tuple(views)
        for v in self.views:
            if v not in VIEWS:
                raise allowed("views", v, f"one of {', '.join(VIEWS)}")
        if window_ms is not None and (isinstance(window_ms, bool) or not isinstance(window_ms, (int, float))
                                      or window_ms <= 0):
            raise allowed("window_ms", window_ms, "None or a duration in ms > 0")
        self.make_sim = make_sim
        self.window_ms = window_ms
        self.nodes = None if nodes is None else list(nodes)
        self.interval_ms = interval_ms
        self._widgets: dict[str, Any] = {}
        self._speed = 1
        self.speed = speed
        self.actions: dict[str, Callable[..., Any]] = {}
        self._buttons: list[str] = []
        self.ops: list[Op] = []
        self.view_time: float | None = None
        self.finished = False
        self._cluster: ClusterView | None = None
        self.seed = _valid_seed(default_seed(seed))
        self.sim = self._build(self.seed)

    # -- the simulation ------------------------------------------------------------------------
    def _build(self, seed: int) -> Any:
        sim = self.make_sim(seed)
        if not hasattr(sim, "trace") or not hasattr(sim, "step"):
            raise allowed("make_sim(seed)", sim, "a ds.sim.Simulation")
        return sim

    @property
    def speed(self) -> int:
        """Events run per play tick."""
        return self._speed

    @speed.setter
    def speed(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise allowed("speed", value, "an int from 1 to 1000 (events per tick)")
        self._speed = value
        if "speed" in self._widgets:
            self._widgets["speed"].value = value

    @property
    def now(self) -> float:
        """The simulation's virtual time (ms)."""
        return float(self.sim.now)

    @property
    def time(self) -> float:
        """The time the pictures show: the scrub cursor, or ``now``."""
        return self.now if self.view_time is None else self.view_time

    def _record(self, op: Op) -> None:
        if op[0] == "step" and self.ops and self.ops[-1][0] == "step":
            self.ops[-1] = ("step", self.ops[-1][1] + op[1])
        else:
            self.ops.append(op)

    def _apply(self, op: Op) -> int:
        """Perform one logged operation on ``self.sim``; returns the number of events run."""
        kind = op[0]
        if kind == "step":
            done = 0
            for _ in range(op[1]):
                if self.sim.step() is None:
                    self.finished = True
                    break
                done += 1
            return done
        if kind == "run":
            before = len(self.sim.trace)
            self.sim.run(until=self.sim.now + op[1])
            return len(self.sim.trace) - before
        if kind == "action":
            self.actions[op[1]](self.sim, *op[2:])
            return 0
        return self._apply_other(op)

    def _apply_other(self, op: Op) -> int:
        raise allowed("operation", op, "step, run or action")

    def step(self, n: int = 1) -> int:
        """Run the next ``n`` events in normal order; returns how many ran (fewer at the end)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise allowed("n", n, "an int >= 1")
        done = self._apply(("step", n))
        if done:
            self._record(("step", done))
        self.view_time = None
        self.refresh()
        return done

    def run(self, ms: float) -> int:
        """Advance virtual time by ``ms`` (running every event due); returns events run."""
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms <= 0:
            raise allowed("ms", ms, "a duration in ms > 0")
        done = self._apply(("run", ms))
        self._record(("run", ms))
        self.view_time = None
        self.refresh()
        return done

    def tick(self) -> int:
        """One play tick: ``speed`` events; pauses when nothing is left."""
        done = self.step(self.speed) if not self.finished else 0
        if self.finished:
            self.pause()
        return done

    def add_action(self, label: str, callback: Callable[..., Any], *, button: bool = True) -> Any:
        """Add an action ``label`` that calls ``callback(sim, *args)``; returns its button.

        ``player.do(label, *args)`` performs it (the button calls ``do(label)``; use
        ``button=False`` for actions that other controls call with arguments). The callback
        must be deterministic and use only the simulation it is given and its arguments
        (plain data): it is replayed on undo, reset and seed changes.
        """
        if not isinstance(label, str) or not label:
            raise allowed("label", label, "a non-empty str")
        if label in self.actions:
            raise allowed("label", label, f"a new label (taken: {', '.join(self.actions)})")
        if not callable(callback):
            raise allowed("callback", callback, "a function sim -> None")
        self.actions[label] = callback
        if button:
            self._buttons.append(label)
            if self._widgets:
                return self._action_button(label)
        return None

    def do(self, label: str, *args: Any) -> Any:
        """Perform the action ``label`` now with ``args`` (what its button or control does)."""
        if label not in self.actions:
            raise allowed("action", label, f"one of {', '.join(self.actions) or 'no actions yet'}")
        result = self.actions[label](self.sim, *args)
        self._record(("action", label, *args))
        self.view_time = None
        self.refresh()
        return result

    def play(self) -> None:
        """Start playing (the front end's ``Play`` widget calls :meth:`tick`)."""
        if "play" in self._widgets:
            self._widgets["play"].playing = True

    def pause(self) -> None:
        """Stop playing."""
        if "play" in self._widgets:
            self._widgets["play"].playing = False

    @property
    def playing(self) -> bool:
        """True while the ``Play`` widget is ticking."""
        return bool("play" in self._widgets and self._widgets["play"].playing)

    def scrub(self, t_ms: float | None) -> None:
        """Show the system at virtual time ``t_ms`` (``None`` or ``>= now``: the present)."""
        if t_ms is not None and (isinstance(t_ms, bool) or not isinstance(t_ms, (int, float)) or t_ms < 0):
            raise allowed("t_ms", t_ms, "None or a time in ms >= 0")
        self.view_time = None if t_ms is None or t_ms >= self.now else float(t_ms)
        self.refresh()

    def reset(self, seed: int | None = None) -> None:
        """Start over from ``seed`` (default: the current seed) with an empty log."""
        self.seed = _valid_seed(self.seed if seed is None else seed)
        self.replay([])

    def replay(self, ops: Iterable[Op], seed: int | None = None) -> None:
        """Rebuild the simulation from ``seed`` and perform ``ops`` (a log like :attr:`ops`)."""
        if seed is not None:
            self.seed = _valid_seed(seed)
        ops = [tuple(op) for op in ops]
        self.sim = self._build(self.seed)
        self.ops, self.view_time, self.finished = [], None, False
        for op in ops:
            if op[0] == "action" and op[1] not in self.actions:
                raise ConfigError(f"cannot replay action {op[1]!r}: no such action (add_action first)")
            done = self._apply(op)
            self._record(("step", done) if op[0] == "step" else op)
        self.pause()
        self.refresh()

    def undo(self) -> bool:
        """Undo the last operation (one event of a step) by replaying; False if nothing to undo."""
        if not self.ops:
            return False
        ops = list(self.ops)
        last = ops.pop()
        if last[0] == "step" and last[1] > 1:
            ops.append(("step", last[1] - 1))
        self.replay(ops)
        return True

    # -- pictures ----------------------------------------------------------------------------
    def visible_events(self) -> list:
        """The trace up to the view time."""
        events = events_of(self.sim)
        if self.view_time is None:
            return events
        limit = round(self.view_time * US_PER_MS)
        return [e for e in events if e.time <= limit]

    def _window(self) -> tuple[float, float] | None:
        end = self.time
        if self.window_ms is None:
            return None if self.view_time is None else (-end * 0.02 - 0.5, end * 1.08 + 0.5)
        return (max(0.0, end - self.window_ms) - self.window_ms * 0.02, end + self.window_ms * 0.08)

    def _nodes(self) -> list[str]:
        if self.nodes is not None:
            return self.nodes
        return [getattr(n, "id", n) for n in getattr(self.sim, "nodes", {})]

    def spacetime_figure(self) -> Figure:
        """The space-time diagram up to the view time."""
        return spacetime(self.visible_events(), window=self._window(), nodes=self._nodes() or None)

    def cluster_view(self) -> ClusterView:
        """The cluster at the view time (updated in place, so the live graph follows)."""
        if self._cluster is None:
            self._cluster = ClusterView(self.sim, at=self.view_time, nodes=self._nodes() or None)
        else:
            self._cluster.update(self.sim, at=self.view_time)
        return self._cluster

    def figure(self) -> Figure:
        """The static figure of the current view (cluster beside space-time diagram)."""
        events = self.visible_events()
        nodes = self._nodes() or None
        lanes = len(nodes) if nodes else 3
        if self.views == ("cluster",):
            return cluster_figure(self.cluster_view().state)
        if self.views == ("spacetime",):
            return self.spacetime_figure()
        fig = new_figure((8.0, max(2.6, 0.9 + 0.5 * lanes)))
        left = fig.add_axes((0.0, 0.04, 0.27, 0.86))
        right = fig.add_axes((0.36, 0.18, 0.46, 0.74))
        cluster_figure(self.cluster_view().state, ax=left)
        spacetime(events, window=self._window(), nodes=nodes, ax=right)
        return fig

    def summary(self) -> str:
        """A one-line, deterministic description of the state (the ``text/plain`` output)."""
        stats = self.sim.trace.stats()
        where = f"t={self.now:g} ms" + ("" if self.view_time is None else f" (viewing t={self.view_time:g} ms)")
        return (f"{type(self).__name__}(seed={self.seed}): {where}, {len(self.sim.trace)} events; "
                f"sent {stats['sent']}, delivered {stats['delivered']}, dropped {stats['dropped']}, "
                f"duplicated {stats['duplicated']}")

    # -- the widget --------------------------------------------------------------------------
    @property
    def widget(self) -> Any:
        """The ipywidgets control bar and views (built on first access)."""
        if not self._widgets:
            self._build_widget()
        return self._widgets["root"]

    def _build_widget(self) -> None:
        import ipywidgets as w

        W = self._widgets
        W["play"] = w.Play(value=0, min=0, max=10**9, step=1, interval=self.interval_ms,
                           description="play", show_repeat=False)
        W["play"].observe(lambda ch: self.tick(), names="value")
        W["step"] = self._button("step", lambda: self.step(1), "step-forward")
        W["undo"] = self._button("undo", self.undo, "undo")
        W["speed"] = w.IntSlider(value=self.speed, min=1, max=50, description="events/tick",
                                 layout=w.Layout(width="230px"))
        W["speed"].observe(lambda ch: setattr(self, "_speed", ch["new"]), names="value")
        W["time"] = w.FloatSlider(value=self.now, min=0, max=max(self.now, 1e-9), step=0.1,
                                  description="time (ms)", continuous_update=False,
                                  layout=w.Layout(width="330px"))
        W["time"].observe(self._on_scrub, names="value")
        W["seed"] = w.BoundedIntText(value=self.seed, min=0, max=2**31 - 1, description="seed",
                                     layout=w.Layout(width="140px"))
        W["reset"] = self._button("reset", lambda: self.reset(W["seed"].value), "refresh")
        W["status"] = w.HTML()
        W["actions"] = w.HBox([])
        for label in self._buttons:
            self._action_button(label)
        views = []
        if "cluster" in self.views:
            views.append(self.cluster_view().widget)
        if "spacetime" in self.views:
            W["spacetime"] = w.Image(format="png", layout=w.Layout(max_width="640px"))
            views.append(W["spacetime"])
        controls = [w.HBox([W["play"], W["step"], W["undo"], W["speed"]]),
                    w.HBox([W["time"], W["seed"], W["reset"]]), W["actions"]]
        W["root"] = w.VBox([*controls, *self._extra_controls(), W["status"], w.HBox(views)])
        self.refresh()

    def _extra_controls(self) -> list[Any]:
        return []

    def _button(self, label: str, fn: Callable[[], Any], icon: str = "") -> Any:
        import ipywidgets as w

        button = w.Button(description=label, icon=icon, layout=w.Layout(width="auto"))
        button.on_click(lambda _b: fn())
        return button

    def _action_button(self, label: str) -> Any:
        button = self._button(label, lambda: self.do(label))
        box = self._widgets["actions"]
        box.children = (*box.children, button)
        return button

    def _on_scrub(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self.scrub(change["new"])

    _syncing = False

    def refresh(self) -> None:
        """Redraw the live views (no-op before the widget is built)."""
        W = self._widgets
        if not W:
            return
        self._syncing = True
        try:
            W["time"].max = max(self.now, 1e-9)
            W["time"].value = self.time
            W["seed"].value = self.seed
        finally:
            self._syncing = False
        W["status"].value = f"<code>{self.summary()}</code>"
        if "cluster" in self.views:
            self.cluster_view()
        if "spacetime" in W:
            W["spacetime"].value = figure_png(self.spacetime_figure())
        self._refresh_extra()

    def _refresh_extra(self) -> None:
        return None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from ..notebook import static_mode

        return bundle(None if static_mode() else self.widget, self.figure(), self.summary())
