"""The compact breadth-first search behind ``explore(engine="compact")`` (the default).

The same states as the original search (:func:`dscourse.checkers.explore._bfs`), in the same
order, with the same shortest counterexamples, built more cheaply. A state is a compact
record (:class:`State`): the clock and queue seq, each node's attributes as an *image* (a
private copy that no handler ever touches, shared with the parent when the step did not run
on that node), the live queue entries as sorted tuples, each node's drawn random streams and
link buffers, the fault state and the trace rows. A successor is built by applying one choice
to the parent's record on the one simulation object, touching only what the choice can
change (DSLabs' successor function, Michael et al., EuroSys 2019, §4):

* the receiving node gets a fresh copy of its image (:func:`clone`, a deep copy of plain data
  several times cheaper than unpickling; aliasing inside the node is kept), its handler runs
  through the kernel's ``_execute``, and the kernel's queue is put back by resetting the
  parent's entries in place (no entry is copied);
* the canonical key is carried over: each node's key hash is kept and only the node the step
  ran on is re-keyed, and each queued entry's hash is computed once, when it is queued; the
  pending multiset is the sum of its members' hashes, each entry's key hash first mixed by
  a 64-bit finalizer (:func:`~.explore_symmetry.mix`), so a step changes it by one
  subtraction and one addition per entry. (Unmixed, such sums collide on real systems:
  Python's tuple hash is nearly additive in its last item, and two gossip states with
  messages swapped between two receivers had the same sum.) Up to symmetry the multiset is
  the list of its members, sorted per permutation (:mod:`.explore_symmetry`);
* the successor's node image is the node's own attributes after the step (no copy: the node
  is given a fresh copy of an image before its next handler runs).

* a step is not run at all when its child is known to be a state already seen: a drop or a
  duplicate changes only the pending multiset, and a delivery or timer whose *(node
  attributes, item, fault state)* triple ran before, *purely*, gives the node key and queued
  items it gave then (a memo, as TLC and DSLabs cache what they can; keys are exact
  identities -- :class:`Interned` pickles -- not hashes). A run is pure when the handler
  reached nothing through the simulation but sending, annotating and the peer list
  (:class:`Spy`: the clock, timers, other nodes or the fault state make it impure), drew
  nothing from its random stream or its links' (:class:`Watched`), and kept no id of a
  message it sent in its attributes or in a message (:func:`mentions`, which sees into
  named tuples too; a link the step made and left pristine is not a draw: :func:`_drawn`).
  A memoized step whose child is new is run for real, and its result checked against the
  memo (a mismatch is an error: the handler depends on something the explorer cannot see);
  the child then shares the memo's node image;
* a memoized step whose child is new is not run either when its *effect* was recorded
  (:class:`Effect`: the trace rows and queue entries it added, relative to the clock and the
  first free seq, and the FIFO links it sent on) and the verdicts on the child's nodes are
  known (``on_nodes``): the child is built from the parent's record and the effect
  (:meth:`Machine.derive`), a parent none of whose steps must run is never loaded. A pure
  step draws nothing, so its sends took constant latencies; the effect applies unless a FIFO
  link would hold a send back behind an earlier one (:meth:`Machine.applies`). Tests set
  ``Machine.verify_derived``: every derived child is then also built for real and compared;
* invariants, goals and prunes declared with :func:`~dscourse.checkers.explore.on_nodes`
  are judged once per combination of the nodes' identities, on the nodes' attributes
  alone: a derived child whose combination is new is judged with its nodes' images put in
  the nodes (:meth:`Machine.show`), its step still not run;
* a restart is a step like a delivery: a restart of a node with no timers pending whose
  handlers (``on_crash``, ``__init__``, ``on_recover``) read nothing but the node is
  memoized by the node's attributes (its ``stable`` and constructor arguments) and
  derived from its recorded effect (the crash and recover rows, what ``on_recover`` sent);
  the restart choices read the statuses from the state's fault record, not a loaded parent;
* sends are not rendered for the trace during the search (``Simulation._lazy_trace``: the
  trace row keeps the queued message, :class:`~dscourse.sim.trace.Unrendered`, which no
  handler mutates), so only a predicate that reads the trace pays for rendering, and what it
  reads is what an eager trace holds. (A message that is not data is then reported when the
  trace is read, at the latest when the search ends, rather than at the send.)
  Counterexample traces are replays from the seed, rendered as usual.

Paused nodes and their backlogs take the slow path: the whole parent is loaded again (and
nothing is predicted); so does a restart that changes the fault state. The engine relies on
the Node API's rule that a node's handlers change only that node (its attributes, random
streams and outgoing links) and read no other node; nodes share nothing but messages. A
handler that reads a global or a class attribute some other code changes is outside what
any engine can see.
"""

from __future__ import annotations

import copy
import enum
import functools
import pickle
from typing import Any, NamedTuple

from ..errors import ConfigError
from ..sim import Simulation
from ..sim.checkpoint import dump_faults, load_faults, restore_links_of
from ..sim.queue import DATA, DEAD, DELIVER, ID, KIND, LABEL, MSG, NODE, PEER, PRIORITY, RESUME, SEQ, TIME, TIMER
from ..sim.rng import stream
from ..sim.trace import Unrendered, private
from .explore import _choice, _first, freeze, node_state, path_of, restart
from .explore_symmetry import Plain, keying

_KERNEL_ATTRS = ("_sim", "rng", "_init_args")
_SHARED = frozenset({int, float, str, bool, type(None), bytes, complex, range})
_frozen: dict[type, tuple[str, ...] | None] = {}   # a type -> its fields if immutable by contract


# -- private copies of plain data ----------------------------------------------------------------
def _immutable_fields(t: type) -> tuple[str, ...] | None:
    """The fields of a frozen dataclass or enum type (immutable by contract, though a field
    may hold a mutable value), else None. Cached per type (types, not values)."""
    try:
        return _frozen[t]
    except KeyError:
        pass
    params = getattr(t, "__dataclass_params__", None)
    out: tuple[str, ...] | None
    if isinstance(t, type) and issubclass(t, enum.Enum):
        out = ()
    elif params is not None and params.frozen:
        out = tuple(t.__dataclass_fields__)   # type: ignore[attr-defined]
    else:
        out = None
    _frozen[t] = out
    return out


def clone(x: Any, memo: dict[int, Any]) -> Any:
    """A private deep copy of ``x`` like ``pickle.loads(pickle.dumps(x))``: immutable values
    (atoms, frozen dataclasses and tuples holding only immutable values) are shared, dicts,
    lists and sets copied, objects shared twice inside ``x`` copied once (``memo``, by id);
    anything else goes to :func:`copy.deepcopy`."""
    t = type(x)
    if t in _SHARED:
        return x
    if t is dict:
        c = memo.get(id(x))
        if c is None:
            c = memo[id(x)] = {}
            for k, v in x.items():
                c[k if type(k) in _SHARED else clone(k, memo)] = v if type(v) in _SHARED else clone(v, memo)
        return c
    if t is list:
        c = memo.get(id(x))
        if c is None:
            c = memo[id(x)] = []
            c.extend(v if type(v) in _SHARED else clone(v, memo) for v in x)
        return c
    if t is tuple or t is frozenset:
        items = [v if type(v) in _SHARED else clone(v, memo) for v in x]
        return x if all(a is b for a, b in zip(items, x, strict=True)) else t(items)
    if t is set:
        c = memo.get(id(x))
        if c is None:
            c = memo[id(x)] = {v if type(v) in _SHARED else clone(v, memo) for v in x}
        return c
    names = _immutable_fields(t)
    if names is not None:
        if all(clone(v, memo) is v for v in (getattr(x, n) for n in names)):
            return x
    elif isinstance(x, tuple) and all(clone(v, memo) is v for v in x):   # named tuples
        return x
    return copy.deepcopy(x, memo)


def frozen(x: Any) -> bool:
    """Whether ``x`` is immutable all the way down (atoms, and tuples, frozensets, frozen
    dataclasses, enums and named tuples holding only such values): shared, never copied."""
    t = type(x)
    if t in _SHARED:
        return True
    if t is tuple or t is frozenset:
        return all(type(v) in _SHARED or frozen(v) for v in x)
    names = _immutable_fields(t)
    if names is not None:
        return all(frozen(getattr(x, n)) for n in names)
    return isinstance(x, tuple) and all(frozen(v) for v in x)


Image = tuple[dict[str, Any], tuple[tuple[str, bool], ...]]
"""A node's attributes, and those holding mutable data (copied on each load), each with
whether a shallow copy is enough (a dict, list or set of immutable values)."""


def _load_node(node: Any, image: Image) -> None:
    attrs, mutable = image
    d = node.__dict__
    kept = {k: d[k] for k in _KERNEL_ATTRS if k in d}
    d.clear()
    d.update(attrs)
    if mutable:
        memo: dict[int, Any] = {}
        for k, shallow in mutable:
            d[k] = attrs[k].copy() if shallow else clone(attrs[k], memo)
    d.update(kept)


_FLAT = (dict, list, set)


def _image(node: Any, parent: Image | None = None) -> Image:
    """The node's attributes as they are now (taken over, not copied: see the module
    docstring). A value still the very object of the ``parent`` image is immutable exactly
    when it was there (a load shares only immutable values)."""
    attrs = {k: v for k, v in node.__dict__.items() if k not in _KERNEL_ATTRS}
    if parent is None:
        mutable = [k for k, v in attrs.items() if not frozen(v)]
    else:
        before, copied = parent[0], {k for k, _ in parent[1]}
        mutable = []
        for k, v in attrs.items():
            if before.get(k, attrs) is v:     # (attrs: a default no value can be)
                if k in copied:
                    mutable.append(k)
            elif not frozen(v):
                mutable.append(k)
    if len({id(attrs[k]) for k in mutable}) < len(mutable):    # aliased: copy with one memo
        return attrs, tuple((k, False) for k in mutable)
    out = []
    for k in mutable:
        v = attrs[k]
        t = type(v)
        flat = t in _FLAT and all(type(x) in _SHARED or frozen(x) for x in (v.values() if t is dict else v))
        out.append((k, flat))
    return attrs, tuple(out)


def _drawn(after: tuple, before: tuple) -> bool:
    """Whether a node's links (:meth:`Machine.links_of`) drew from their streams between
    ``before`` and ``after``: a buffer refilled or read on. A link made by the step (its first
    send there) with nothing drawn is not a draw: only its delivery time (``last``) is state."""
    was = {a[0]: a for a in before}
    for dst, _last, buf, i in after:
        old = was.get(dst)
        if old is None:
            if buf or i:
                return True
        elif (buf is not old[2] and (buf or old[2])) or i != old[3]:
            return True
    return len(was) > len(after)


class Watched:
    """A node's ``rng`` during a search: the node's generator, noting that it was used (so a
    step that draws nothing costs no read of the generator's state)."""

    __slots__ = ("gen", "used")

    def __init__(self, gen: Any) -> None:
        self.gen = gen
        self.used = False

    def __getattr__(self, name: str) -> Any:
        self.used = True
        return getattr(self.gen, name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:    # so that isinstance(rng, np.random.Generator) still holds
        return type(self.gen)


class Spy:
    """A node's ``_sim`` during a search: the simulation, noting whether a handler reached
    anything but the pure actions (:data:`PURE`: sending, annotating, listing peers). A read
    of the clock, a timer set or cancelled, another node or the fault state looked at: the
    step's result may depend on more than the node and the message, so it is not memoized."""

    __slots__ = ("sim", "read")

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.read = False

    def __getattr__(self, name: str) -> Any:
        if name not in PURE:
            self.read = True
        return getattr(self.sim, name)


PURE = frozenset({"_send", "_broadcast", "_peers", "_annotate"})
"""What a handler may call on the simulation and still be memoized: a send's result depends
on the link (a random link model draws from its stream: seen, not memoized) and on the fault
state (part of the memo's key); the message ids sends return are looked for in the result."""


def mentions(x: Any, lo: int, hi: int) -> bool:
    """Whether ``x`` holds an int in ``[lo, hi)`` (the ids of a step's sends), or a value this
    walk cannot see into (then it may: a memo must not be kept)."""
    t = type(x)
    if t is int:
        return lo <= x < hi
    if t in _SHARED:
        return False
    if t is dict:
        return any(mentions(k, lo, hi) or mentions(v, lo, hi) for k, v in x.items())
    if t is tuple or t is list or t is set or t is frozenset:
        return any(mentions(v, lo, hi) for v in x)
    names = _immutable_fields(t)
    if names is not None:
        return any(mentions(getattr(x, n), lo, hi) for n in names)
    d = getattr(x, "__dict__", None)
    if isinstance(x, tuple):                # named tuples: their items (and any attributes)
        return any(mentions(v, lo, hi) for v in x) or (type(d) is dict and mentions(d, lo, hi))
    if type(d) is dict and not isinstance(x, type):
        return mentions(d, lo, hi)
    return True


class Interned:
    """Exact identities of plain data (node attributes, queued messages) as small ints: equal
    pickles, equal values of equal types (pickle keeps types and aliasing). Values that pickle
    differently but compare equal (a dict built in another order) get different ids: a memo
    then misses, which costs time, never a state."""

    def __init__(self) -> None:
        self.ids: dict[bytes, int] = {}

    def __call__(self, x: Any) -> int | None:
        try:
            data = pickle.dumps(x, 5)
        except Exception:          # noqa: BLE001 -- not picklable: no identity, no memo
            return None
        return self.ids.setdefault(data, len(self.ids))


# -- compact states -------------------------------------------------------------------------------
class State(NamedTuple):
    """A state of the search (see the module docstring)."""

    now: int
    seq: int
    images: dict[str, Image]           # node id -> its attributes (never handed to a node)
    entries: tuple[tuple, ...]          # the live queue entries, sorted (a sorted list is a heap)
    keys: tuple[Any, ...]               # per entry: its member of the pending multiset (None: kernel event)
    hashes: tuple[Any, ...]             # per entry: its key's hash(es) (0 for kernel events)
    backlog: tuple[tuple[str, tuple[tuple, ...]], ...]
    streams: dict[str, tuple]           # node id -> ((stream name, bit generator state), ...)
    links: dict[str, tuple]             # node id -> ((dst, last, buffer, index), ...)
    faults: bytes                       # pickled: statuses, fault sets, clock offsets
    rows: tuple[tuple, ...]             # the trace
    idents: tuple[int | None, ...]      # per node (in order): its attributes' identity (Interned)
    mkeys: tuple[Any, ...]              # per entry: its pending item's identity (None: kernel event)


def entry_key(e: Any) -> tuple[Any, ...] | None:
    """An entry's member of the pending multiset (as in ``canonical``), None if not pending."""
    kind = e[KIND]
    if kind == DELIVER or kind == TIMER:
        return (kind, e[NODE], e[PEER], e[LABEL], freeze(e[MSG]))
    return None


_VIEW: Any = object()
"""``Machine.loaded``'s mark of a node that holds an image's own objects, for reading only."""


class Machine:
    """The simulation object moved between compact states, with what is loaded in it."""

    verify_derived = False
    """Tests set it: every child built from a recorded effect is also built by running the
    step, and the two compared (:func:`_verify`)."""

    def __init__(self, sim: Simulation, keys: Plain) -> None:
        self.sim = sim
        self.keys = keys
        self.nodes = sim._nodes
        self.loaded: dict[str, Any] = {}       # node id -> the image its attributes are a copy of
        self.views: dict[str, Image] = {}      # node id -> the image it shows (loaded: _VIEW)
        self.streams_at: dict[str, Any] = {}   # node id -> the streams tuple loaded
        self.links_at: dict[str, Any] = {}     # node id -> the links tuple loaded
        self.faults_at: bytes | None = None
        self.owned: dict[str, list[str]] = {}
        self.n_streams = -1
        self.lists: list[list[Any]] = []
        self.kinds: tuple[int, ...] = ()
        self.state: State | None = None
        self.after: tuple = ()                 # the links of the node the last step ran on
        self.dirty: set[str] = set()           # nodes that may differ from the loaded state
        self.grouped: set[str] = set()         # nodes under symmetry reduction (must not draw)
        self.timer_map: dict[str, dict[int, list]] = {}
        self.index: dict[int, int] = {}        # the loaded state's entries by seq
        self.watched: dict[str, Watched] = {}
        self.spies: dict[str, Spy] = {}
        self.order = tuple(self.nodes)
        self.position = {nid: i for i, nid in enumerate(self.order)}
        self.intern = Interned()
        self.pure = False                      # the last fire's result is memoizable
        self._statuses: dict[bytes, dict[str, str]] = {}
        self.verify_derived = Machine.verify_derived
        # sends keep their messages unrendered until a predicate reads the trace
        # (trace.Unrendered): most of the search's trace rows are never read
        sim._lazy_trace = sim.trace._lazy = True
        for nid, node in self.nodes.items():
            gen = node.__dict__.get("rng")
            if gen is not None:
                node.__dict__["rng"] = self.watched[nid] = Watched(gen)
            if node.__dict__.get("_sim") is sim:
                node.__dict__["_sim"] = self.spies[nid] = Spy(sim)

    def close(self) -> None:
        """Give the nodes their generators and their simulation back, and the simulation its
        eagerly rendered trace."""
        sim = self.sim
        for nid, watched in self.watched.items():
            self.nodes[nid].__dict__["rng"] = watched.gen
        for nid in self.spies:
            self.nodes[nid].__dict__["_sim"] = sim
        sim._lazy_trace = False
        try:
            sim.trace._rendered()       # (a message that is not data raises here)
        finally:
            sim.trace._lazy = False

    def ident(self, attrs: dict[str, Any]) -> int | None:
        return self.intern(attrs)

    def mkey(self, e: Any) -> int | None:
        """The identity of a pending entry's (kind, node, peer, label, message)."""
        kind = e[KIND]
        if kind == DELIVER or kind == TIMER:
            return self.intern((kind, e[NODE], e[PEER], e[LABEL], e[MSG]))
        return None

    # -- capture ---------------------------------------------------------------------------------
    def _owned(self, nid: str) -> list[str]:
        streams = self.sim._streams
        if len(streams) != self.n_streams:
            self.owned = {n: [] for n in self.nodes}
            for name in streams:
                owner = name.split(":", 1)[-1].split("->", 1)[0]
                if owner in self.owned:
                    self.owned[owner].append(name)
            self.n_streams = len(streams)
        return self.owned[nid]

    def streams_of(self, nid: str) -> tuple:
        sim = self.sim
        links = sim._links[nid]
        out = []
        for name in self._owned(nid):
            if name.startswith("net:"):
                link = links.get(name.split("->", 1)[1])
                if link is not None and not link.uniform._buf:
                    continue                              # a pristine link stream
            out.append((name, sim._streams[name].bit_generator.state))
        return tuple(out)

    def links_of(self, nid: str) -> tuple:
        return tuple((dst, link.last, link.uniform._buf, link.uniform._i)
                     for dst, link in self.sim._links[nid].items())

    def capture(self) -> State:
        """The whole simulation as a state (the root, and after a restart)."""
        sim = self.sim
        images = {nid: _image(n) for nid, n in self.nodes.items()}
        for nid in images:
            self.loaded[nid] = None     # the node holds the image's own objects now
        entries = tuple(sorted(tuple(e) for e in sim._heap if e[KIND] != DEAD))
        keys = tuple(entry_key(e) for e in entries)
        return State(sim._now, sim._seq, images, entries, keys,
                     tuple(0 if k is None else self.keys.entry(k) for k in keys),
                     tuple((nid, tuple(tuple(e) for e in q)) for nid, q in sim._backlog.items()),
                     {nid: self.streams_of(nid) for nid in self.nodes},
                     {nid: self.links_of(nid) for nid in self.nodes},
                     dump_faults(sim), tuple(sim.trace._rows),
                     tuple(self.ident(images[nid][0]) for nid in self.order),
                     tuple(self.mkey(e) for e in entries))

    # -- load ------------------------------------------------------------------------------------
    def load(self, st: State) -> None:
        """Put the simulation in state ``st`` (only what differs from what is loaded)."""
        self.state = st
        self.lists = [list(e) for e in st.entries]
        self.kinds = tuple(e[KIND] for e in st.entries)
        if self.faults_at is not st.faults:
            self._load_faults(st.faults)
        for nid in self.nodes:
            self.node(nid)
        self.dirty.clear()
        self.events()
        self.timer_map = {nid: d.copy() for nid, d in self.sim._timers.items()}
        self.index = {e[SEQ]: i for i, e in enumerate(st.entries)}
        self.sim.trace._rows[:] = st.rows

    def _rewind(self) -> tuple[Simulation, Any]:
        """The clock and the queue back to the loaded state (its entries reset in place)."""
        sim, st, lists = self.sim, self.state, self.lists
        assert st is not None
        sim._now, sim._seq = st.now, st.seq
        for e, kind in zip(lists, self.kinds, strict=True):
            e[KIND] = kind
        sim._heap[:] = lists
        return sim, st

    def reset(self, touched: str | None) -> None:
        """Undo a step that ran only on node ``touched`` (None: on no node), started from the
        loaded state: the clock, the queue, that node's timers and the trace (its attributes,
        streams and links are put back when needed: :attr:`dirty`)."""
        sim, st = self._rewind()
        if touched is not None:
            sim._timers[touched] = self.timer_map[touched].copy()
        del sim.trace._rows[len(st.rows):]
        del sim.trace._events[:]

    def show(self, st: State, nid: str, image: Image) -> None:
        """Give every node the attributes of its image in ``st``, node ``nid`` those of
        ``image`` instead: a child built without running its step, for predicates that read
        nothing but the nodes' attributes (``explore.on_nodes``). The nodes get the images'
        own objects, not copies (:data:`_VIEW`: no handler runs on them, a node is loaded
        again before its next step); a node left unlike the loaded state is marked
        :attr:`dirty` (its streams and links are not touched)."""
        loaded, nodes, views = self.loaded, self.nodes, self.views
        current = self.state.images if self.state is not None else {}
        for n, im in st.images.items():
            if n == nid:
                im = image
            now = loaded.get(n)
            if now is im or (now is _VIEW and views[n] is im):
                continue
            d = nodes[n].__dict__
            kept = {k: d[k] for k in _KERNEL_ATTRS if k in d}
            d.clear()
            d.update(im[0])
            d.update(kept)
            if im[1]:                   # (mutable attributes: the image's own, shown only)
                loaded[n] = _VIEW
                views[n] = im
                self.dirty.add(n)
            else:
                loaded[n] = im
                if current.get(n) is not im:
                    self.dirty.add(n)

    def node(self, nid: str) -> None:
        """Put node ``nid`` (attributes, streams, links) in the loaded state's."""
        st = self.state
        assert st is not None
        image = st.images[nid]
        if self.loaded.get(nid) is not image:
            _load_node(self.nodes[nid], image)
            self.loaded[nid] = image
        streams = st.streams[nid]
        if self.streams_at.get(nid) is not streams:
            for name, bits in streams:
                gen = self.sim.rng(name).bit_generator
                if gen.state != bits:
                    gen.state = bits
            self.streams_at[nid] = streams
        links = st.links[nid]
        if self.links_at.get(nid) is not links:
            self._load_links(nid, links)
            self.links_at[nid] = links

    def _load_links(self, src: str, links: tuple) -> None:
        sim = self.sim
        mine = sim._links[src]
        if len(mine) == len(links):       # the common case: same links, buffers not refilled
            for dst, last, buf, i in links:
                link = mine.get(dst)
                if link is None or link.uniform._buf is not buf:
                    break
                link.last = last
                link.uniform._i = i
            else:
                return
        restore_links_of(sim, src, {dst: (last, buf, i) for dst, last, buf, i in links})

    def _load_faults(self, data: bytes) -> None:
        sim = self.sim
        load_faults(sim, data)
        self.faults_at = data
        for src, by_dst in sim._links.items():     # link models follow the overrides
            for dst, link in by_dst.items():
                model = sim._overrides.get((src, dst), sim._default_link)
                if link.model is not model:
                    link.configure(model)

    def events(self) -> None:
        """Put back the clock, the queue (the parent's entries, reset in place), the kernel's
        indexes of timers and resumes, and the trace."""
        sim, st = self._rewind()
        lists = self.lists
        timers: dict[str, dict[int, list]] = {nid: {} for nid in self.nodes}
        resume_at = {}
        for e in lists:
            kind = e[KIND]
            if kind == TIMER:
                timers[e[NODE]][e[ID]] = e
            elif kind == RESUME:
                resume_at[e[NODE]] = e
        backlog = {nid: [list(e) for e in q] for nid, q in st.backlog}
        for q in backlog.values():
            for e in q:
                if e[KIND] == TIMER:
                    timers[e[NODE]][e[ID]] = e
        sim._timers, sim._resume_at, sim._backlog = timers, resume_at, backlog
        rows = sim.trace._rows
        if len(rows) >= len(st.rows):
            del rows[len(st.rows):]        # a step only appends
        else:
            rows[:] = st.rows
        del sim.trace._events[:]

    # -- steps -----------------------------------------------------------------------------------
    def fire(self, i: int) -> str:
        """Deliver or fire the parent's entry ``i`` (:meth:`Simulation.fire` on an entry in
        hand, the message privately copied for the receiver); returns the node it ran on."""
        sim = self.sim
        e = self.lists[i]
        nid = e[NODE]
        if nid in self.dirty:
            self.node(nid)
        self.dirty.add(nid)
        live = list(e)
        e[KIND] = DEAD
        live[MSG] = private(live[MSG])
        if live[TIME] > sim._now:
            sim._now = live[TIME]
        if live[KIND] == TIMER:
            sim._timers[nid][live[ID]] = live
        watched = self.watched[nid]
        watched.used = False
        spy = self.spies.get(nid)
        if spy is not None:
            spy.read = False
        sim._execute(live)
        self.loaded[nid] = None
        st = self.state
        assert st is not None
        before = st.links[nid]
        drew = watched.used or bool(sim._physical)
        if sim._seq == st.seq:          # nothing sent (every send takes a seq): links untouched
            self.after = before
            after = before
        else:
            after = self.after = self.links_of(nid)
        if after is not before and after != before:
            self.links_at[nid] = None
            drew = drew or _drawn(after, before)
        if drew:
            self.streams_at[nid] = None
            if watched.used and nid in self.grouped:
                raise _random_in_group(nid)
        self.pure = not drew and spy is not None and not spy.read
        return nid

    def memoizable(self, nid: str) -> bool:
        """Whether the last fire, on node ``nid``, read nothing but its node and its message
        (:class:`Spy`, :class:`Watched`, the links) and kept no id of a message it sent."""
        st = self.state
        assert st is not None
        return self.pure and (self.sim._seq == st.seq or not self._leaks_ids(nid, st.seq))

    def _leaks_ids(self, nid: str, lo: int) -> bool:
        """Whether the ids of the step's sends (or a value that may hide one) are in the
        node's attributes or in a message it queued: then the step is not memoized."""
        sim = self.sim
        hi = sim._seq
        d = self.nodes[nid].__dict__
        if any(mentions(v, lo, hi) for k, v in d.items() if k not in _KERNEL_ATTRS):
            return True
        return any(e[SEQ] >= lo and mentions(e[MSG], lo, hi) for e in sim._heap if e[KIND] != DEAD)

    def restart(self, nid: str) -> str:
        """Crash node ``nid`` and recover it at once (the ``restart`` choice); like
        :meth:`fire`, notes whether the handlers it ran read nothing but the node."""
        if nid in self.dirty:
            self.node(nid)
        self.dirty.add(nid)
        sim, st = self.sim, self.state
        assert st is not None
        watched = self.watched.get(nid)
        if watched is not None:
            watched.used = False
        spy = self.spies.get(nid)
        if spy is not None:
            spy.read = False
        restart(sim, nid)
        self.loaded[nid] = None
        before = st.links[nid]
        after = self.after = self.links_of(nid)
        drew = (watched is not None and watched.used) or bool(sim._physical)
        if after != before:
            self.links_at[nid] = None
            drew = drew or _drawn(after, before)
        if drew:
            self.streams_at[nid] = None
            if watched is not None and watched.used and nid in self.grouped:
                raise _random_in_group(nid)
        self.pure = not drew and spy is not None and not spy.read
        return nid

    def statuses(self, faults: bytes) -> dict[str, str]:
        """The impaired nodes' statuses in a state's fault state (no need to load it)."""
        out = self._statuses.get(faults)
        if out is None:
            out = self._statuses[faults] = pickle.loads(faults)[0]
        return out

    def faults_changed(self) -> bool:
        """Whether the fault state differs from the loaded state's (then the step is captured
        whole and the parent loaded again for the next choice)."""
        st = self.state
        assert st is not None
        return dump_faults(self.sim) != st.faults

    def net(self) -> tuple[Any, dict[int, tuple[Any, Any]]]:
        """The pending multiset after a step (``keys.multiset`` of its members' hashes: the
        parent's, less those the step consumed, plus those it queued), and the new entries'
        keys and hashes by seq."""
        st = self.state
        assert st is not None
        members = [h for e, kind, k, h in zip(self.lists, self.kinds, st.keys, st.hashes, strict=True)
                   if k is not None and e[KIND] == kind]
        new: dict[int, tuple[Any, Any]] = {}
        parent_seq = st.seq
        entry = self.keys.entry
        for e in self.sim._heap:
            if e[SEQ] >= parent_seq:
                key = entry_key(e)
                if key is not None and e[KIND] != DEAD:
                    h = entry(key)
                    new[e[SEQ]] = (key, h)
                    members.append(h)
        return self.keys.multiset(members), new

    def image_after(self, touched: str | None, known: list | None) -> tuple[Image | None, tuple]:
        """The image of node ``touched`` after a step from the loaded state, and every node's
        ident. ``known``: the memo entry of a pure step, whose image (identical to the node's
        attributes now) is shared, or filled in if this is the step's first run."""
        st = self.state
        assert st is not None
        if touched is None:
            return None, st.idents
        if known is not None and known[2] is not None:
            image, ident = known[2], known[3]
        else:
            image = _image(self.nodes[touched], st.images[touched])
            ident = self.ident(image[0])
            if known is not None:
                known[2], known[3] = image, ident
        pos = self.position[touched]
        return image, (*st.idents[:pos], ident, *st.idents[pos + 1:])

    def child(self, touched: str | None, new: dict[int, tuple[Any, int]], image: Image | None,
              idents: tuple) -> State:
        """The state the simulation is in, reached from the loaded state by a step that ran
        only on node ``touched`` (None: on no node) and queued the entries ``new``; ``image``
        and ``idents`` from :meth:`image_after`."""
        sim, st = self.sim, self.state
        assert st is not None
        images, streams, links = st.images, st.streams, st.links
        if touched is not None:
            assert image is not None
            images = dict(images)
            images[touched] = image
            if self.streams_at.get(touched) is not st.streams[touched]:
                streams = dict(streams)
                mine = self.streams_of(touched)
                streams[touched] = st.streams[touched] if mine == st.streams[touched] else mine
            if self.links_at.get(touched) is not st.links[touched]:
                links = dict(links)
                links[touched] = self.after
        index = self.index
        entries, keys, hashes, mkeys = [], [], [], []
        for e in sorted(e for e in sim._heap if e[KIND] != DEAD):
            seq = e[SEQ]
            entries.append(tuple(e))
            if seq in new:
                key, h = new[seq]
                mk = self.mkey(e)
            elif seq < st.seq:
                i = index[seq]
                key, h, mk = st.keys[i], st.hashes[i], st.mkeys[i]
            else:                               # a kernel event queued by the step
                key, h, mk = None, 0, None
            keys.append(key)
            hashes.append(h)
            mkeys.append(mk)
        backlog = st.backlog if not sim._backlog else \
            tuple((nid, tuple(tuple(e) for e in q)) for nid, q in sim._backlog.items())
        return State(sim._now, sim._seq, images, tuple(entries), tuple(keys), tuple(hashes),
                     backlog, streams, links, st.faults, tuple(sim.trace._rows), idents,
                     tuple(mkeys))


    def effect(self, i: int | None, nid: str, new: dict[int, tuple[Any, Any]]) -> Effect | None:
        """The effect of the last step, a fire of the loaded state's entry ``i`` or (``i``
        None) a restart of node ``nid`` without timers (a pure step: see :meth:`memoizable`),
        relative to its clock and seqs; None if it cannot be replayed without the kernel (its
        rows or entries are not what the template can express, or a FIFO link held a send
        back behind an earlier one)."""
        sim, st = self.sim, self.state
        assert st is not None
        now, lo, hi = sim._now, st.seq, sim._seq
        rows = sim.trace._rows[len(st.rows):]
        if i is not None:
            e = st.entries[i]
            if e[KIND] != DELIVER and e[KIND] != TIMER:
                return None
            if not rows or rows[0] != _first_row(e, now):
                return None
            rows = rows[1:]
        elif not rows or rows[0][:3] != (now, "crash", nid):
            return None
        tail = []
        for row in rows:
            if row[0] != now or not (row[4] is None or (type(row[4]) is int and lo <= row[4] < hi)):
                return None
            tail.append((0, *row[1:4], _shift(row[4], lo, hi, -lo), *row[5:]))
        entries, keys, hashes, mkeys = [], [], [], []
        first: dict[str, int] = {}             # destination -> the earliest time queued to it
        for q in sorted(q for q in sim._heap if q[SEQ] >= lo and q[KIND] != DEAD):
            if q[KIND] != DELIVER or q[SEQ] not in new or not (type(q[ID]) is int and lo <= q[ID] < hi):
                return None
            key, h = new[q[SEQ]]
            entries.append((q[TIME] - now, q[PRIORITY], q[SEQ] - lo, q[KIND], _shift(q[ID], lo, hi, -lo),
                            *q[NODE:]))
            keys.append(key)
            hashes.append(h)
            mkeys.append(self.mkey(q))
            first[q[NODE]] = min(first.get(q[NODE], q[TIME]), q[TIME])
        moved = _moved(st.links[nid], self.after, first, now, sim._links[nid])
        if moved is None:
            return None
        return Effect(tuple(tail), tuple(entries), tuple(keys), tuple(hashes), tuple(mkeys),
                      hi - lo, moved)

    @staticmethod
    def applies(st: State, i: int | None, nid: str, effect: Effect) -> bool:
        """Whether ``effect`` (of the same pure step from another state) is what firing entry
        ``i`` of ``st`` (None: restarting node ``nid``) does: no FIFO link it sends on holds
        its sends back here."""
        if not effect.moved:
            return True
        now = _clock(st, i)
        last = {link[0]: link[1] for link in st.links[nid]}
        return all(last.get(dst, 0) <= now + c for dst, c in effect.moved)

    @staticmethod
    def derive(st: State, i: int | None, nid: str, effect: Effect, image: Image, idents: tuple) -> State:
        """The child of ``st`` by firing its entry ``i`` (None: by restarting node ``nid``,
        which has no timers), built from a recorded ``effect`` of the same pure step (same
        node attributes, item and fault state; ``image`` and ``idents`` the node's after it;
        :meth:`applies`) without running anything: what :meth:`child` builds after running
        it (``Machine.verify_derived`` checks that)."""
        now = _clock(st, i)
        lo = st.seq
        rows = [] if i is None else [_first_row(st.entries[i], now)]
        for row in effect.rows:
            rows.append((now, *row[1:4], _shift(row[4], 0, effect.seqs, lo), *row[5:]))
        entries, keys, hashes, mkeys = st.entries, st.keys, st.hashes, st.mkeys
        if i is not None:
            entries, keys, hashes, mkeys = (entries[:i] + entries[i + 1:], keys[:i] + keys[i + 1:],
                                            hashes[:i] + hashes[i + 1:], mkeys[:i] + mkeys[i + 1:])
        # (sorted, as the effect's; an effect's entries' ids are the step's own seqs)
        queued = tuple((x[TIME] + now, x[PRIORITY], x[SEQ] + lo, x[KIND], x[ID] + lo, *x[NODE:])
                       for x in effect.entries)
        if not queued or not entries or entries[-1] < queued[0]:  # (the usual case: all due later)
            entries, keys = entries + queued, keys + effect.keys
            hashes, mkeys = hashes + effect.hashes, mkeys + effect.mkeys
        else:
            merged = sorted(zip(entries + queued, keys + effect.keys, hashes + effect.hashes,
                                mkeys + effect.mkeys, strict=True), key=_by_entry)
            entries, keys, hashes, mkeys = (tuple(r[k] for r in merged) for k in range(4))
        images = dict(st.images)
        images[nid] = image
        links = st.links
        if effect.moved:
            mine = list(links[nid])
            where = {link[0]: k for k, link in enumerate(mine)}
            for dst, c in effect.moved:
                k = where.get(dst)
                if k is None:
                    mine.append((dst, now + c, [], 0))
                else:
                    mine[k] = (dst, now + c, mine[k][2], mine[k][3])
            links = dict(links)
            links[nid] = tuple(mine)
        return State(now, lo + effect.seqs, images, entries, keys, hashes, st.backlog,
                     st.streams, links, st.faults, st.rows + tuple(rows), idents, mkeys)

# -- a pure step's effect, replayed without the kernel ---------------------------------------------
class Effect(NamedTuple):
    """What a pure delivery or timer did, relative to the step's clock and first seq: the
    trace rows after the first (the deliver or timer_fire row, rebuilt from the entry), the
    entries it queued (``[time - now, priority, seq - lo, kind, id - lo, ...]`` as tuples)
    with their pending-multiset keys, hashes and identities, and the number of seqs taken.
    A pure step draws nothing, so its sends took constant latencies and the only link state it
    changes is a FIFO link's ``last`` (the latest delivery time queued): ``now + latency``
    unless an earlier send on the link is due later (:func:`_moved`, :meth:`Machine.applies`)."""

    rows: tuple[tuple, ...]
    entries: tuple[tuple, ...]
    keys: tuple[Any, ...]
    hashes: tuple[Any, ...]
    mkeys: tuple[Any, ...]
    seqs: int
    moved: tuple                # (destination, latency in us) per FIFO link it sent on


def _moved(before: tuple, after: tuple, first: dict[str, int], now: int,
           links: dict[str, Any]) -> tuple | None:
    """The FIFO links a pure step sent on, from its node's links ``before`` and ``after`` it
    (``first``: each destination's earliest queued time; ``links``: the node's link objects):
    ``(destination, latency)`` for each, the constant latency (us) every send on it took and
    the new ``last`` (both relative to the clock); None if a send was held back behind an
    earlier one (its time then depends on more than the clock) or a link changed otherwise.
    A link the step made is a link that was pristine."""
    was = {link[0]: link for link in before}
    out = []
    for dst, last, buf, i in after:
        old = was.get(dst, (dst, 0, buf, i))
        if (old[2] is not buf and (old[2] or buf)) or old[3] != i:
            return None
        if dst not in first:
            if last != old[1]:
                return None
            continue
        link = links[dst]
        if not link.fifo:
            if last != old[1]:
                return None
            continue
        c = link.const_us
        if c is None or not (old[1] <= now + c and first[dst] == now + c and last == now + c):
            return None
        out.append((dst, c))
    return tuple(out)


def _used(links: tuple) -> tuple:
    """A node's links (:meth:`Machine.links_of`) less the pristine ones (nothing delivered on a
    FIFO link, nothing drawn): a pristine link behaves as a link not yet made, and a link not
    in a state's links is put back pristine when the state is loaded (``restore_links_of``)."""
    return tuple(link for link in links if link[1] or link[2] or link[3])


def _by_entry(r: tuple) -> tuple:
    return r[0]


def _clock(st: State, i: int | None) -> int:
    """The clock after firing entry ``i`` of ``st`` (None: after a restart, which takes no time)."""
    if i is None:
        return st.now
    t = st.entries[i][TIME]
    return t if t > st.now else st.now


RESTART = "restart"
"""The memo's item for a restart (a fire's item is an interned int): a restart of a node with
no timers depends on nothing but the node's attributes (its ``stable`` and constructor
arguments) if it reads nothing else (:class:`Spy`)."""


def _timerless(st: State, nid: str) -> bool:
    """Whether node ``nid`` has no timer pending in ``st`` (a crash cancels them, and counts
    them in the trace: a restart is memoized only without)."""
    return not any(e[KIND] == TIMER and e[NODE] == nid for e in st.entries)


def _first_row(e: Any, now: int) -> tuple:
    """The row the kernel records when it runs the live entry ``e`` at ``now`` (a node up)."""
    if e[KIND] == DELIVER:
        return (now, "deliver", e[NODE], e[PEER], e[ID], e[LABEL], e[DATA])
    return (now, "timer_fire", e[NODE], None, e[ID], e[LABEL], e[DATA])


def _shift(x: Any, lo: int, hi: int, by: int) -> Any:
    """A row's or entry's id moved by ``by`` if it is one of the step's seqs ``[lo, hi)``."""
    return x + by if type(x) is int and lo <= x < hi else x


# -- the search -----------------------------------------------------------------------------------
def node_hash(m: Machine, nid: str) -> Any:
    return m.keys.node(nid, m.sim._impaired.get(nid, "up"), node_state(m.nodes[nid]))


def bfs_compact(root: Simulation, bounds: Any, inv: list, gls: list, prn: list, max_depth: int,
                max_states: int | None, seed: int, walks: int, symmetry: Any = None,
                dfs: bool = False) -> tuple:
    """The breadth-first search of :func:`dscourse.checkers.explore.explore` on compact
    states: the same states in the same order as ``engine="checkpoint"`` (without
    ``symmetry``; with it, one state per orbit: :mod:`.explore_symmetry`). ``dfs``: depth
    first instead, keeping only the states on the current path and their siblings (see
    ``explore(mode="dfs")``)."""
    parents: list[int] = [-1]
    moves: list[tuple | None] = [None]

    path_to = functools.partial(path_of, parents, moves, _choice)

    keys = keying(symmetry, root, bounds.restartable)
    grouped = {n for g in symmetry for n in g} if symmetry is not None else set()
    for nid in grouped:
        if root.rng(f"node:{nid}").bit_generator.state != stream(seed, f"node:{nid}").bit_generator.state:
            raise _random_in_group(nid)
    m = Machine(root, keys)
    m.grouped = grouped
    try:
        return _search(m, bounds, inv, gls, prn, max_depth, max_states, parents, moves, path_to, dfs)
    finally:
        m.close()


def _search(m: Machine, bounds: Any, inv: list, gls: list, prn: list, max_depth: int,
            max_states: int | None, parents: list[int], moves: list, path_to: Any,
            dfs: bool = False) -> tuple:
    sim = m.sim
    order = tuple(sim._nodes)
    position = {nid: i for i, nid in enumerate(order)}
    try:
        st0 = m.capture()
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise _unpicklable(exc) from None
    m.load(st0)
    used0 = (0, 0, 0)
    nh0 = tuple(node_hash(m, nid) for nid in order)
    combine, multiset, less, more = m.keys.combine, m.keys.multiset, m.keys.less, m.keys.more
    net0 = multiset([h for k, h in zip(st0.keys, st0.hashes, strict=True) if k is not None])
    seen = {combine(nh0, net0, used0)}
    bad, goal = _first(inv, sim, False), _first(gls, sim, True)
    if bad or goal:
        return bad, goal, [], 1, 0, True, False
    drop, duplicate = sim.drop, sim.duplicate
    cut = [False]                   # a new state was left unexpanded at max_depth
    memo: dict[tuple, list] = {}    # (node ident, item ident, faults) -> [node key, queued
    #                                 keys, the node's image after, its ident (Machine.image_after),
    #                                 its Effect (False: not replayable; None: not yet recorded)]
    on_nodes = all(getattr(p, "reads_nodes", False) for _, p in inv + gls + prn)
    verdicts: dict[tuple, tuple] = {}   # every node's ident -> (bad, goal, pruned)

    def judge(idents: tuple) -> tuple:
        """The first broken invariant, the first goal reached, and whether a prune holds, in
        the state the simulation is in (every node loaded), remembered by ``idents`` if every
        predicate reads only the nodes' attributes (``explore.on_nodes``)."""
        out = (_first(inv, sim, False), _first(gls, sim, True), bool(_first(prn, sim, True)))
        if on_nodes and idents and None not in idents:
            verdicts[idents] = out
        return out

    def cached(idents: tuple) -> tuple | None:
        return verdicts.get(idents) if on_nodes else None

    def expand(index: int, st: State, used: tuple[int, int, int], nh: tuple, depth: int,
               out: list) -> tuple | None:
        """Try every choice of the state ``st`` (reached in ``depth - 1`` steps): new states
        are checked and, if they may be expanded, appended to ``out``; returns the search's
        result if it ends here."""
        slow = bool(st.backlog)
        loaded = False
        if slow:
            m.load(st)
            loaded = True
        options = _options(st, used, bounds, m.statuses(st.faults))
        stepped = False
        touched: str | None = None
        whole = False           # the last step changed the fault state: capture it whole
        members: Any = None     # the parent's pending multiset (keys.multiset)
        for kind, target, i in options:
            # predict the child's key without running the step where that is sound: a drop
            # or a duplicate changes only the pending multiset, a fire whose (node, item)
            # pair ran purely before gives what it gave then (:class:`Spy`)
            predicted = None
            memo_key = None
            if not slow:
                if members is None:
                    members = multiset([h for k, h in zip(st.keys, st.hashes, strict=True) if k is not None])
                rest = members
                if i is not None:
                    h_i = st.hashes[i]
                    rest = less(members, h_i)   # (the multiset less one copy of entry i's member)
                if kind == "fire" or kind == "restart":
                    receiver: str = st.entries[i][NODE] if i is not None else str(target)
                    pos = position[receiver]
                    ident = st.idents[pos]
                    item = st.mkeys[i] if i is not None else (RESTART if _timerless(st, receiver) else None)
                    if ident is not None and item is not None:
                        memo_key = (ident, item, st.faults)
                        predicted = memo.get(memo_key)
                        if predicted is not None:
                            p_nh = (*nh[:pos], predicted[0], *nh[pos + 1:])
                            p_spent = used if i is not None else spent_of(used, kind)
                            p_key = combine(p_nh, more(rest, predicted[1]), p_spent)
                            if p_key in seen:
                                continue
                            # a new state: built from the step's recorded effect, not run,
                            # if the node's links are as they were then and the verdicts on
                            # its nodes are known (``on_nodes``)
                            effect = predicted[4]
                            if effect and Machine.applies(st, i, receiver, effect):
                                p_idents = (*st.idents[:pos], predicted[3], *st.idents[pos + 1:])
                                answers = cached(p_idents)
                                if answers is None and on_nodes:
                                    # judged on the nodes' attributes alone: the parent's,
                                    # the receiver's from the memo (no step is run)
                                    m.show(st, receiver, predicted[2])
                                    answers = judge(p_idents)
                                if answers is not None:
                                    if m.verify_derived:
                                        _verify(m, st, i, receiver, predicted, p_idents)
                                        loaded = stepped = True
                                        whole = False
                                        touched = receiver
                                    seen.add(p_key)
                                    parents.append(index)
                                    moves.append((kind, target, st.entries[i] if i is not None else None))
                                    me = len(moves) - 1
                                    bad, goal, pruned = answers
                                    if bad or goal:
                                        return bad, goal, path_to(me), len(seen), depth, True, False
                                    if max_states is not None and len(seen) >= max_states:
                                        return None, None, [], len(seen), depth, False, False
                                    if pruned:
                                        continue
                                    if depth < max_depth:
                                        out.append((me, m.derive(st, i, receiver, effect, predicted[2],
                                                                 p_idents), p_spent, p_nh, depth))
                                    else:
                                        cut[0] = True
                                    continue
                elif kind == "drop":
                    if combine(nh, rest, spent_of(used, kind)) in seen:
                        continue
                else:
                    if combine(nh, more(members, (h_i,)), spent_of(used, kind)) in seen:
                        continue
            if not loaded:
                m.load(st)
                loaded = True
            elif stepped:
                if whole:
                    m.faults_at = None
                    slow = True     # the rest of this parent's choices start from a full load
                    whole = False
                if slow:
                    m.load(st)
                else:
                    m.reset(touched)
            touched = None
            spent = spent_of(used, kind)
            if kind == "fire":
                assert i is not None
                touched = m.fire(i)
            elif kind == "drop":
                drop(target)  # type: ignore[arg-type]
            elif kind == "duplicate":
                duplicate(target)  # type: ignore[arg-type]
            else:
                assert isinstance(target, str)
                touched = m.restart(target)
                if m.faults_changed():
                    whole = True
            stepped = True
            child_net, new = m.net()
            if touched is not None:
                child_nh = list(nh)
                child_nh[position[touched]] = node_hash(m, touched)
                child_hashes = tuple(child_nh)
            else:
                child_hashes = nh
            known = None
            if memo_key is not None and not whole:
                assert touched is not None          # (a memo key is made for fires and restarts only)
                result = [child_hashes[position[touched]], tuple(sorted(h for _, h in new.values())),
                          None, None, None]
                if predicted is not None:
                    if result[:2] != predicted[:2]:
                        raise _impure(touched)
                    known = predicted
                elif m.memoizable(touched):
                    memo[memo_key] = known = result
            key = combine(child_hashes, child_net, spent)
            if key in seen:
                continue
            seen.add(key)
            parents.append(index)
            entry = st.entries[i] if i is not None else None
            moves.append((kind, target, entry))
            me = len(moves) - 1
            image, idents = (None, ()) if whole else m.image_after(touched, known)
            if known is not None and known[4] is None:
                assert touched is not None
                known[4] = m.effect(i, touched, new) or False    # (False: not replayable)
            answers = cached(idents)
            if answers is None:
                for nid in [n for n in m.dirty if n != touched]:
                    m.node(nid)
                m.dirty = {touched} if touched else set()
                answers = judge(idents)
            elif touched is not None:
                m.dirty.add(touched)
            bad, goal, pruned = answers
            if bad or goal:
                return bad, goal, path_to(me), len(seen), depth, True, False
            if max_states is not None and len(seen) >= max_states:
                return None, None, [], len(seen), depth, False, False
            grow = not pruned
            if grow and depth < max_depth:
                try:
                    if whole:
                        child = m.capture()
                        m.dirty = set(order)
                    else:
                        child = m.child(touched, new, image, idents)
                except (pickle.PicklingError, AttributeError, TypeError) as exc:
                    raise _unpicklable(exc) from None
                out.append((me, child, spent, child_hashes, depth))
            elif grow:
                cut[0] = True
        return None

    if _first(prn, sim, True):
        return None, None, [], len(seen), 0, True, True
    if not dfs:
        frontier = [(0, st0, used0, nh0, 0)]
        depth = 0
        while frontier and depth < max_depth:
            depth += 1
            nxt: list = []
            for index, st, used, nh, _ in frontier:
                done = expand(index, st, used, nh, depth, nxt)
                if done is not None:
                    return done
            frontier = nxt
        return None, None, [], len(seen), depth, True, not frontier and not cut[0]
    stack = [(0, st0, used0, nh0, 0)]
    deepest = 0
    while stack:
        index, st, used, nh, level = stack.pop()
        kids: list = []
        done = expand(index, st, used, nh, level + 1, kids)
        if done is not None:
            return (*done[:5], False, False)
        if kids:
            deepest = max(deepest, level + 1)
        stack.extend(reversed(kids))
    # depth-first, a state first met deep and cut there is not met again higher up: only a
    # search that cut nothing is known to have seen every state
    return None, None, [], len(seen), deepest, not cut[0], not cut[0]


def _verify(m: Machine, st: State, i: int | None, nid: str, predicted: list, idents: tuple) -> None:
    """Run the step that :meth:`Machine.derive` builds without the kernel for real and check
    that both give the same child, field by field (``Machine.verify_derived``, for tests)."""
    m.load(st)
    touched = m.fire(i) if i is not None else m.restart(nid)
    _, new = m.net()
    real = m.child(touched, new, predicted[2], idents)
    derived = Machine.derive(st, i, nid, predicted[4], predicted[2], idents)
    a: Any
    b: Any
    for name, a, b in zip(State._fields, real, derived, strict=True):
        if name == "links":             # equal up to pristine links and their order
            a, b = ({n: {link[0]: link for link in _used(x)} for n, x in links.items()}
                    for links in (a, b))
        elif name in ("entries", "rows"):     # a send's unrendered message: by its value
            a, b = ([tuple(x.msg if type(x) is Unrendered else x for x in row) for row in rows]
                    for rows in (a, b))
        if a != b:
            raise AssertionError(f"a derived child differs from the real one in {name}: {a!r} != {b!r}")


def _options(st: State, used: tuple[int, int, int], bounds: Any,
             impaired: dict[str, str]) -> list[tuple[str, int | str, int | None]]:
    """The choices of ``explore.choices``, in its order: (kind, target, entry index)."""
    out: list[tuple[str, int | str, int | None]] = []
    first: dict[Any, int] = {}      # an entry's hash -> the first entry with it
    other: set[Any] = set()         # (the keys of entries whose hash a different key has)
    drops, dups = used[0] < bounds.max_drops, used[1] < bounds.max_duplicates
    timers = bounds.timers
    keys = st.keys
    for i, (e, key, h) in enumerate(zip(st.entries, keys, st.hashes, strict=True)):
        if key is None or (key[0] == TIMER and not timers):
            continue
        j = first.setdefault(h, i)
        if j != i:                  # the same hash: the same key, but for a collision
            if keys[j] == key or key in other:
                continue
            other.add(key)
        out.append(("fire", e[SEQ], i))
        if key[0] == DELIVER:
            if drops:
                out.append(("drop", e[SEQ], i))
            if dups:
                out.append(("duplicate", e[SEQ], i))
    if used[2] < bounds.max_restarts:
        for nid in bounds.restartable:
            if impaired.get(nid, "up") == "up":
                out.append(("restart", nid, None))
    return out


def spent_of(used: tuple[int, int, int], kind: str) -> tuple[int, int, int]:
    """The fault budget used after a choice of ``kind``."""
    if kind == "fire":
        return used
    if kind == "drop":
        return (used[0] + 1, used[1], used[2])
    if kind == "duplicate":
        return (used[0], used[1] + 1, used[2])
    return (used[0], used[1], used[2] + 1)


def _impure(nid: str | None) -> ConfigError:
    return ConfigError(f"node {nid!r}'s handler gave a different result for the same node state "
                       "and message, though it read nothing but them that the explorer can see "
                       "(a global, a class attribute, an object shared with other nodes?): "
                       "handlers must depend only on their node, the message, and the "
                       "simulation's accessors")


def _random_in_group(nid: str) -> ConfigError:
    return ConfigError(f"node {nid!r} draws from its random stream, so it is not interchangeable "
                       "with the other nodes of its symmetry group: leave it out of symmetry")


def _unpicklable(exc: Exception) -> ConfigError:
    return ConfigError(f"cannot checkpoint the simulation ({exc}): node attributes and "
                       "messages must be picklable data, node classes defined at module or "
                       "notebook top level")

