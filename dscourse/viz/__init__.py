"""dscourse.viz: the toolkit for pictures and widgets of simulations; it knows no topic
(each topic's widgets are built from it in ``<topic>/labs.py``).

* :func:`spacetime` -- the space-time (Lamport) diagram of a trace (matplotlib).
* :func:`cluster` -- the cluster graph (ipycytoscape live, matplotlib static) and
  :func:`cluster_figure`, its static figure.
* :class:`Player` -- play/pause/step/scrub/speed/seed/reset controls around
  ``make_sim(seed)``, extensible with :meth:`Player.add_action`.
* :func:`playground` -- the network playground: a Player over nodes that ping each other, with
  latency, loss, duplication, FIFO, partition and crash controls (it needs only ``ds.sim``).
* :class:`Lab` -- sliders and checkboxes around a figure-drawing function.
* :func:`history` -- a linearizability verdict drawn as a history, Porcupine-style: a lane per
  client, the longest linearization, the first operation that cannot be linearized.
* :func:`replay` -- the HTML trace player: a recorded run replayed in the browser with no
  kernel (space-time and cluster views, slider, play, step, payloads, topic panels
  registered as :class:`Panel` plug-ins, see :mod:`dscourse.viz.replay_plugins`).
* :mod:`.scene` -- what the pictures show, computed from a trace (:func:`spacetime_scene`,
  :func:`cluster_state`); no drawing.
* :class:`Debugger` -- the message debugger: choose which pending message or timer happens
  next, drop or duplicate one, undo by replaying from the seed (after DSLabs' visual debugger).

Every widget's display bundle holds its static figure (PNG) and a one-line text summary,
plus the live widget view where a kernel runs (``DSCOURSE_STATIC=1`` forces static); see
:mod:`dscourse.viz.display`, whose :func:`new_figure` starts every static figure. Widgets
are driven by their public methods, which is what their buttons call, so notebooks and tests
need no browser.
"""

from .._lazy import lazy
from .cluster import ClusterView, cluster, cluster_figure
from .colors import label_color, label_colors, role_color
from .debugger import Debugger
from .display import new_figure
from .history import history
from .lab import Lab
from .player import Player
from .playground import Playground, playground
from .replay import Replay, replay
from .replay_plugins import Panel
from .scene import ClusterState, cluster_state, spacetime_scene
from .spacetime import spacetime

__all__ = [
    "ClusterState", "ClusterView", "Debugger", "Lab", "Panel", "Player", "Playground", "Replay", "cluster",
    "cluster_figure", "cluster_state", "history", "label_color", "label_colors", "new_figure", "playground",
    "replay", "role_color", "spacetime", "spacetime_scene",
]

__getattr__, __dir__ = lazy(__name__, globals())
