"""dscourse.sim: a deterministic discrete-event simulator of distributed systems.

>>> import dscourse as ds
>>> class Echo(ds.sim.Node):
...     def on_start(self):
...         if self.id == "a":
...             self.send("b", 0)
...     def on_message(self, src, msg):
...         if msg < 10:
...             self.send(src, msg + 1)
>>> sim = ds.sim.Simulation(seed=7, network=ds.sim.Network(latency=ds.sim.Uniform(1, 5), drop=0.1))
>>> _ = sim.add_node(Echo("a")), sim.add_node(Echo("b"))
>>> sim.run(until=1_000)
>>> sim.now
1000.0

Modules: :mod:`.kernel` (``Simulation``, event loop, controlled scheduling), :mod:`.node`
(``Node``; crash/recovery semantics), :mod:`.network` (``LinkModel``, ``Network``, presets
``reliable``, ``lossy``, ``labrpc_unreliable``), :mod:`.dist` (latency distributions),
:mod:`.faults` (crash, recover, pause, partition, cut, heal, clock_jump, slow_link),
:mod:`.clock` (physical clocks: drift, NTP
step or slew, monotonic clocks; ``NTP``, ``PhysicalClock``), :mod:`.nemesis` (timed fault
schedules and random ones), :mod:`.rng` (named streams),
:mod:`.trace` (``Trace``, ``Event``; the contract in TRACE.md), :mod:`.queue` (the event
queue's entry layout, kinds and priorities), :mod:`.checkpoint` (``checkpoint``/``rollback``
for the model checker), :mod:`.errors`.

``Simulation(seed)`` always takes its seed: ``ds.setup(seed=...)`` sets the default of topic
builders and widgets (``dscourse.notebook.default_seed``), never of the kernel.
"""

from .clock import NTP, PhysicalClock
from .dist import Constant, Dist, Exponential, LabrpcLongDelay, LogNormal, Pareto, Uniform, UniformInt
from .errors import (
    DuplicateNodeError,
    MessageNotDataError,
    NegativeDelayError,
    NemesisError,
    NodeCrashedError,
    NodeStateError,
    NotAttachedError,
    ProbabilityError,
    UnknownNodeError,
    UnknownPendingError,
)
from .kernel import Pending, Simulation
from .nemesis import Nemesis, random_schedule
from .network import LinkModel, Network, is_reply, labrpc_unreliable, lossy, reliable
from .node import Node
from .rng import stream
from .trace import KINDS, Event, Trace, jsonable

__all__ = [
    "KINDS", "NTP", "Constant", "Dist", "DuplicateNodeError", "Event", "Exponential",
    "LabrpcLongDelay", "LinkModel", "LogNormal", "MessageNotDataError", "NegativeDelayError",
    "Nemesis", "NemesisError", "Network", "Node", "NodeCrashedError", "NodeStateError",
    "NotAttachedError", "Pareto", "Pending", "PhysicalClock", "ProbabilityError", "Simulation", "Trace",
    "Uniform", "UniformInt", "UnknownNodeError", "UnknownPendingError", "is_reply",
    "jsonable", "labrpc_unreliable", "lossy", "random_schedule", "reliable", "stream",
]
