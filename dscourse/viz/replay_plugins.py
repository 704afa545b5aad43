"""Plug-in panels of the HTML trace player (:func:`dscourse.viz.replay`).

The player knows no topic. A topic adds a panel -- Raft's log matrix, Paxos's acceptor
table -- by defining a :class:`Panel` in its own package and naming it in the
``dscourse.replay_panels`` entry-point group of ``pyproject.toml``::

    [project.entry-points."dscourse.replay_panels"]
    raft = "dscourse.raft.replay_panel:PANEL"

:func:`installed_panels` finds them there (the lookup imports only the panel's module,
so viz never imports a topic by name), and :func:`resolve` picks the panels of one player:
the names the caller gives, or (``"auto"``) every installed panel that has a message of its own
in the trace. A label alone does not decide that (2PC and Paxos both send a ``Prepare``): a
sent message counts for a panel when its label is one of the panel's ``labels`` **and** its
fields are those of the panel's message class -- the dataclass of that name exported by the
panel's own topic package, or the panel's explicit ``fields``; and a trace that also sends
foreign messages under the panel's labels gets no automatic panel. A caller may also pass
:class:`Panel` objects directly.

A panel is two halves: ``prepare`` (Python) turns the trace into compact JSON-able data,
once, when the player is built; ``script`` (JavaScript) registers a renderer with
``DSCoursePlayer.panel(name, {render(ctx, el)})`` that draws that data at the player's
cursor. ``ctx`` holds ``i`` (the global index of the current event, ``-1`` before the first),
``t`` (ms), ``nodes``, ``state`` (each node's annotated fields), ``down`` (crashed nodes),
``timers``, ``data`` (what ``prepare`` returned) and ``h`` (a tiny element builder); see
``static/player.js``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from ..errors import allowed

GROUP = "dscourse.replay_panels"

Prepare = Callable[[Sequence[Any], int, int, list[str]], Any]
"""``prepare(events, start, stop, nodes)``: the panel's data for events ``start .. stop - 1``
of the full event list (events before ``start`` give the state at the window's start)."""


@dataclass(frozen=True)
class Panel:
    """A topic panel: a name, a title, its JavaScript renderer and its data preparation.

    ``labels`` are message labels that mark a trace as this panel's (``panels="auto"``);
    ``fields`` optionally gives, per label, the message's field names (default: the fields of
    the dataclass of that name in the panel's topic package, see :func:`message_fields`).
    """

    name: str
    title: str
    script: str = field(repr=False)
    prepare: Prepare = field(repr=False)
    labels: tuple[str, ...] = ()
    css: str = field(default="", repr=False)
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise allowed("panel name", self.name, "an identifier such as 'raft'")
        if not isinstance(self.script, str) or "DSCoursePlayer.panel(" not in self.script:
            raise allowed(f"script of panel {self.name!r}", "a script that registers nothing",
                          "JavaScript calling DSCoursePlayer.panel(name, {render(ctx, el)})")
        if not callable(self.prepare):
            raise allowed(f"prepare of panel {self.name!r}", self.prepare, "a callable")


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def installed_panels() -> dict[str, Panel]:
    """Every panel named in the ``dscourse.replay_panels`` entry-point group, by name."""
    out: dict[str, Panel] = {}
    for name, ep in sorted(_entry_points().items()):
        panel = ep.load()
        if not isinstance(panel, Panel) or panel.name != name:
            raise allowed(f"entry point {name!r} of {GROUP}", ep.value, f"a Panel named {name!r}")
        out[name] = panel
    return out


def message_fields(panel: Panel, label: str) -> frozenset[str] | None:
    """The field names a ``label`` message of ``panel``'s topic has: ``panel.fields[label]``
    if given, else those of the dataclass named ``label`` in the package (or an imported
    submodule of it) that defines the panel's ``prepare``; None if there is no such class
    (then the label alone decides, as before)."""
    if label in panel.fields:
        return frozenset(panel.fields[label])
    package = getattr(panel.prepare, "__module__", "").rpartition(".")[0]
    if not package:
        return None
    for name in sorted(m for m in sys.modules if m == package or m.startswith(package + ".")):
        cls = getattr(sys.modules[name], label, None)
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            return frozenset(f.name for f in dataclasses.fields(cls))
    return None


def _owns(panel: Panel, label: str, keys: frozenset[str] | None) -> bool:
    """Whether a sent message (``label``; ``keys``: its field names, None if unknown) is one
    of ``panel``'s."""
    if label not in panel.labels:
        return False
    wanted = message_fields(panel, label)
    return wanted is None or keys is None or keys == wanted


def resolve(spec: str | Panel | Iterable[str | Panel] | None,
            messages: Iterable[str | tuple[str, Any]]) -> list[Panel]:
    """The panels of one player: ``None`` or ``()`` for none, ``"auto"`` for every installed
    panel that owns one of the trace's sent ``messages`` -- ``(label, data)`` pairs, ``data``
    the message's fields as the trace records them (a bare label matches by label alone);
    see the module docstring -- else names and/or Panels."""
    if spec is None:
        return []
    if spec == "auto":
        seen: dict[str, set[frozenset[str] | None]] = {}
        for message in messages:
            label, data = (message, None) if isinstance(message, str) else message
            keys = None if isinstance(message, str) else frozenset(data) if isinstance(data, dict) else frozenset()
            seen.setdefault(label, set()).add(keys)
        # a panel owns the trace if it owns a message and no message under its labels is foreign
        # (a mixed trace -- Paxos Commit sends 2PC's Prepare beside Paxos's Accept -- gets no
        # automatic panel, since the panel would read fields the foreign messages lack)
        return [p for p in installed_panels().values()
                if any(_owns(p, label, k) for label in p.labels for k in seen.get(label, ()))
                and all(_owns(p, label, k) for label in p.labels for k in seen.get(label, ()))]
    items = [spec] if isinstance(spec, (str, Panel)) else list(spec)
    installed: dict[str, Panel] | None = None
    out: list[Panel] = []
    for item in items:
        if isinstance(item, Panel):
            out.append(item)
            continue
        if not isinstance(item, str):
            raise allowed("panel", item, "a panel name, a Panel, 'auto' or None")
        installed = installed if installed is not None else installed_panels()
        if item not in installed:
            raise allowed("panel", item, f"one of {', '.join(installed) or '(none installed)'}, "
                                         "'auto', or a Panel object")
        out.append(installed[item])
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise allowed("panels", names, "distinct panel names")
    return out
