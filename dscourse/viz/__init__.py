"""dscourse.viz: pictures and widgets of simulations.

* :func:`spacetime` -- the space-time (Lamport) diagram of a trace (matplotlib).
* :func:`cluster` -- the cluster graph (ipycytoscape live, matplotlib static) and
  :func:`cluster_figure`, its static figure.
* :class:`Player` -- play/pause/step/scrub/speed/seed/reset controls around
  ``make_sim(seed)``, extensible with :meth:`Player.add_action`.
* :func:`playground` -- Chapter 1's network playground (a Player with network controls).
* :class:`Lab` -- sliders and checkboxes around a figure-drawing function.
* :class:`Debugger` -- the message debugger: choose which pending message or timer happens
  next, drop or duplicate one, undo by replaying from the seed (after DSLabs' visual debugger).

Every widget displays as the live widget where a kernel runs and as its static figure
elsewhere (``DSCOURSE_STATIC=1`` forces the static figure).
"""

from .cluster import ClusterView, cluster, cluster_figure
from .debugger import Debugger
from .lab import Lab
from .player import Player
from .playground import Playground, playground
from .colors import label_color, label_colors, role_color
from .model import ClusterState, cluster_state, spacetime_model
from .spacetime import spacetime

__all__ = ["ClusterState", "ClusterView", "Debugger", "Lab", "Player", "Playground", "cluster", "cluster_figure", "cluster_state",
           "label_color", "label_colors", "playground", "role_color", "spacetime", "spacetime_model"]
