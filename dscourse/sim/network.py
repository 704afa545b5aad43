"""Network and link models: latency, loss, duplication, FIFO or reordering, slowness.

A :class:`LinkModel` describes one *directed* link (curriculum §1.1 item 4); a
:class:`Network` is the model every link starts with, and ``Simulation.set_link(a, b, ...)``
overrides single links. Presets:

* :func:`reliable` -- FIFO, no loss, constant latency (the "perfect link" of textbooks).
* :func:`lossy` -- reordering, 10% loss, 2% duplication, 1-10 ms latency (in the spirit of
  Maelstrom's ``--p-loss`` and DSLabs' unreliable network).
* :func:`labrpc_unreliable` -- MIT 6.5840's ``labrpc`` with ``Reliable(false)`` and
  ``LongReordering(true)``: each message waits ``rand.Int() % 27`` ms, is dropped with
  probability 10% (labrpc drops 10% of requests and 10% of replies), and about 2/3
  (``rand.Intn(900) < 600``) of *replies* are held back a further
  ``200 + rand.Intn(1 + rand.Intn(2000))`` ms. labrpc delays only requests by the short
  delay (replies return at once); a message kernel has no request/reply pairing, so every
  message gets it. A message counts as a reply if :func:`is_reply` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import allowed
from .dist import Constant, Dist, LabrpcLongDelay, Uniform, UniformInt, as_dist
from .errors import ProbabilityError

REPLY_SUFFIXES: tuple[str, ...] = ("Reply", "Response", "_ok")


def is_reply(label: str, msg: Any) -> bool:
    """True for a reply: its label ends with Reply, Response or _ok (Maelstrom's ``read_ok``),
    or it is a dict with an ``in_reply_to`` key (Maelstrom's message body convention)."""
    return label.endswith(REPLY_SUFFIXES) or (type(msg) is dict and "in_reply_to" in msg)


def _probability(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ProbabilityError(f"{what}={value!r} is not allowed: expected a probability in [0, 1]")
    return float(value)


@dataclass(frozen=True)
class LinkModel:
    """How one directed link treats each message.

    ``latency`` (a :class:`Dist` or a number of ms) times ``slow`` is the delay; ``drop`` and
    ``duplicate`` are per-message probabilities; ``fifo`` keeps messages in send order (a
    later message never overtakes an earlier one); ``long_reorder`` is the probability that a
    reply (see :func:`is_reply`) is held back by an extra ``long_delay``.
    """

    latency: Dist | float = field(default_factory=lambda: Constant(1.0))
    drop: float = 0.0
    duplicate: float = 0.0
    fifo: bool = False
    slow: float = 1.0
    long_reorder: float = 0.0
    long_delay: Dist | float = field(default_factory=LabrpcLongDelay)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "latency", as_dist(self.latency, "latency"))
        set_(self, "long_delay", as_dist(self.long_delay, "long_delay"))
        set_(self, "drop", _probability("drop", self.drop))
        set_(self, "duplicate", _probability("duplicate", self.duplicate))
        set_(self, "long_reorder", _probability("long_reorder", self.long_reorder))
        if not isinstance(self.fifo, bool):
            raise allowed("fifo", self.fifo, "True or False")
        slow = self.slow
        if isinstance(slow, bool) or not isinstance(slow, (int, float)) or not (
                math.isfinite(slow) and slow > 0):
            raise allowed("slow", slow, "a finite latency multiplier > 0")
        set_(self, "slow", float(slow))

    def settings(self) -> dict[str, Any]:
        """The model as JSON-able data (for the trace's "link" events)."""
        out: dict[str, Any] = {}
        for f in fields(LinkModel):
            v = getattr(self, f.name)
            out[f.name] = repr(v) if isinstance(v, Dist) else v
        return out

    def link_model(self) -> LinkModel:
        """This model as a plain :class:`LinkModel` (drops a :class:`Network`'s name)."""
        return LinkModel(**{f.name: getattr(self, f.name) for f in fields(LinkModel)})


@dataclass(frozen=True)
class Network(LinkModel):
    """The default model of every directed link; ``name`` labels presets."""

    name: str = "custom"


def reliable(latency: Dist | float = 1.0) -> Network:
    """FIFO links that never lose, duplicate or reorder; constant 1 ms latency by default."""
    return Network(latency=latency, fifo=True, name="reliable")


def lossy(drop: float = 0.1, duplicate: float = 0.02,
          latency: Dist | float = Uniform(1.0, 10.0)) -> Network:
    """Reordering links that lose 10% and duplicate 2% of messages, 1-10 ms latency."""
    return Network(latency=latency, drop=drop, duplicate=duplicate, fifo=False, name="lossy")


def labrpc_unreliable(long_reordering: bool = True) -> Network:
    """MIT 6.5840 labrpc's unreliable network (see the module docstring for the mapping)."""
    return Network(latency=UniformInt(0, 26), drop=0.1, duplicate=0.0, fifo=False,
                   long_reorder=600 / 900 if long_reordering else 0.0,
                   long_delay=LabrpcLongDelay(), name="labrpc_unreliable")
