"""A Lab: a figure that redraws when the reader moves its controls.

``Lab(render, timeout=(10, 200, 5), fifo=False)`` builds one control per keyword (an int
or float ``(min, max, step)`` tuple is a slider, a list a dropdown, a bool a checkbox), calls
``render(**values) -> Figure`` and shows the PNG. ``lab.set(timeout=50)`` is what moving the
slider does. Displayed where no kernel runs, a Lab is its figure at the current values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from ..errors import allowed
from .display import bundle, figure_png


def _default(spec: Any) -> Any:
    if isinstance(spec, bool):
        return spec
    if isinstance(spec, tuple) and len(spec) == 3 and all(isinstance(v, (int, float)) for v in spec):
        return spec[0]
    if isinstance(spec, list) and spec:
        return spec[0][1] if isinstance(spec[0], tuple) else spec[0]
    raise allowed("control", spec, "(min, max, step), a non-empty list, or a bool")


class Lab:
    """Controls plus a figure (see module docstring); ``values`` holds the current settings.

    ``initial`` overrides the starting values; ``describe(**values) -> str`` gives the text
    summary shown under the figure (default: the values).
    """

    def __init__(self, render: Callable[..., Figure], *, initial: dict[str, Any] | None = None,
                 describe: Callable[..., str] | None = None, title: str = "", **controls: Any) -> None:
        if not callable(render):
            raise allowed("render", render, "a function (**values) -> Figure")
        self.render, self.describe_fn, self.title = render, describe, title
        self.controls = controls
        self.values = {name: _default(spec) for name, spec in controls.items()}
        for name, value in (initial or {}).items():
            if name not in controls:
                raise allowed("initial", name, f"one of {', '.join(controls)}")
            self.values[name] = value
        self._widgets: dict[str, Any] = {}

    def set(self, **values: Any) -> None:
        """Change settings (what moving the controls does) and redraw."""
        for name in values:
            if name not in self.controls:
                raise allowed("control", name, f"one of {', '.join(self.controls)}")
        self.values.update(values)
        self.refresh()

    def figure(self) -> Figure:
        """The figure at the current settings."""
        return self.render(**self.values)

    def summary(self) -> str:
        """The text under the figure (the ``text/plain`` output)."""
        if self.describe_fn is not None:
            return self.describe_fn(**self.values)
        settings = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.title or 'Lab'}: {settings}"

    @property
    def widget(self) -> Any:
        """The live controls and figure (built on first access)."""
        if not self._widgets:
            import ipywidgets as w

            controls = []
            for name, spec in self.controls.items():
                value = self.values[name]
                if isinstance(spec, bool):
                    c = w.Checkbox(value=value, description=name)
                elif isinstance(spec, list):
                    c = w.Dropdown(options=spec, value=value, description=name)
                elif all(isinstance(v, int) for v in spec):
                    c = w.IntSlider(value=value, min=spec[0], max=spec[1], step=spec[2], description=name,
                                    continuous_update=False)
                else:
                    c = w.FloatSlider(value=value, min=spec[0], max=spec[1], step=spec[2], description=name,
                                      continuous_update=False)
                c.observe(lambda ch, name=name: self._on_change(name, ch["new"]), names="value")
                self._widgets[name] = c
                controls.append(c)
            self._widgets["image"] = w.Image(format="png", layout=w.Layout(max_width="720px"))
            self._widgets["text"] = w.HTML()
            self._widgets["root"] = w.VBox([w.HBox(controls, layout=w.Layout(flex_flow="row wrap")),
                                            self._widgets["image"], self._widgets["text"]])
            self.refresh()
        return self._widgets["root"]

    _syncing = False

    def _on_change(self, name: str, value: Any) -> None:
        if not self._syncing:
            self.set(**{name: value})

    def refresh(self) -> None:
        """Redraw the live figure (no-op before the widget is built)."""
        if not self._widgets:
            return
        self._syncing = True
        try:
            for name, value in self.values.items():
                self._widgets[name].value = value
        finally:
            self._syncing = False
        self._widgets["image"].value = figure_png(self.figure())
        self._widgets["text"].value = f"<code>{self.summary()}</code>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from ..notebook import static_mode

        return bundle(None if static_mode() else self.widget, self.figure(), self.summary())
