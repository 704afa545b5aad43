"""Checkpoints of a running simulation, for the model checker (``dscourse.checkers.explore``).

``cp = checkpoint(sim)`` captures everything a run can change -- the clock, the event queue,
every node's attributes and ``stable`` storage, crash and pause status, partitions, link
state, the random streams' positions and the trace -- and ``rollback(sim, cp)`` puts the
*same* simulation object back in that state. A search can then try many continuations from
one state without rebuilding or copying the whole simulation, and jump between branches of a
search (DSLabs clones states for the same purpose; Michael et al., EuroSys 2019, §4).

Node attributes are captured with :mod:`pickle` (plain data, so independent of later
mutation); queued messages are kept as they are and copied again on rollback if mutable
(:func:`~dscourse.sim.trace.private`). A checkpoint can be rolled back to any number of times.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .queue import DEAD, DELIVER, ID, KIND, MSG, NODE, RESUME, TIMER, Entry
from .rng import stream
from .trace import private

if TYPE_CHECKING:
    from .kernel import Simulation

_KERNEL_ATTRS = ("_sim", "rng", "_init_args")


class Checkpoint(NamedTuple):
    """An opaque snapshot (see :func:`checkpoint`)."""

    now: int
    seq: int                    # the kernel's next queue seq
    data: bytes                 # pickled: node attributes, statuses, fault sets
    entries: tuple[tuple, ...]  # the live queue entries (messages copied again on rollback)
    backlog: tuple[tuple[str, tuple[tuple, ...]], ...]
    streams: tuple[tuple[str, Mapping[str, Any]], ...]  # bit generator states
    links: tuple[tuple[str, str, int, list, int], ...]
    rows: tuple[tuple, ...]     # the trace's rows (immutable tuples, shared)


def _entry(frozen: tuple[Any, ...]) -> Entry:
    e = list(frozen)
    if e[KIND] == DELIVER or e[KIND] == TIMER:
        e[MSG] = private(e[MSG])   # a copy if the message or timer payload is mutable (the handler may change it)
    return e


def checkpoint(sim: Simulation) -> Checkpoint:
    """Capture the state of ``sim`` (see module docstring)."""
    entries = tuple(tuple(e) for e in sim._heap if e[KIND] != DEAD)
    backlog = tuple((nid, tuple(tuple(e) for e in queued)) for nid, queued in sim._backlog.items())
    nodes = {nid: {k: v for k, v in n.__dict__.items() if k not in _KERNEL_ATTRS}
             for nid, n in sim._nodes.items()}
    data = pickle.dumps((nodes, sim._impaired, sim._overrides, sim._partition_pairs, sim._cuts,
                         sim._clock_offset, sim._physical), protocol=pickle.HIGHEST_PROTOCOL)
    # a link's stream is drawn only to refill its buffer: an empty buffer means pristine
    pristine = {f"net:{src}->{dst}" for src, by_dst in sim._links.items()
                for dst, link in by_dst.items() if not link.uniform._buf}
    streams = tuple((name, gen.bit_generator.state) for name, gen in sim._streams.items()
                    if name not in pristine)
    last = sim.__dict__.get("_checkpoint_streams")
    if last == streams:
        streams = last          # share one copy while the streams are not drawn from
    else:
        sim.__dict__["_checkpoint_streams"] = streams
    links = tuple((src, dst, link.last, link.uniform._buf, link.uniform._i)
                  for src, by_dst in sim._links.items() for dst, link in by_dst.items())
    return Checkpoint(sim._now, sim._seq, data, entries, backlog, streams, links,
                      tuple(sim.trace._rows))


def rollback(sim: Simulation, cp: Checkpoint) -> None:
    """Put ``sim`` back into the state captured by ``cp``."""
    nodes, impaired, overrides, pairs, cuts, offsets, physical = pickle.loads(cp.data)
    sim._now = cp.now
    sim._seq = cp.seq
    heap = [_entry(e) for e in cp.entries]
    heap.sort()
    _restore_events(sim, heap, {nid: [_entry(e) for e in queued] for nid, queued in cp.backlog})
    for nid, attrs in nodes.items():
        d = sim._nodes[nid].__dict__
        kept = {k: d[k] for k in _KERNEL_ATTRS if k in d}
        d.clear()
        d.update(attrs)
        d.update(kept)
    _set_faults(sim, impaired, overrides, pairs, cuts, offsets, physical)
    for name, state in cp.streams:
        bits = sim.rng(name).bit_generator
        if bits.state != state:            # reading and comparing is cheaper than setting
            bits.state = state
    _restore_links(sim, cp.links)
    sim.trace._rows[:] = cp.rows          # in place: the kernel appends through rows.append
    del sim.trace._events[:]              # the Event cache is rebuilt on demand


def _restore_links(sim: Simulation, links: tuple, sources: set[str] | None = None) -> None:
    saved: dict[str, dict[str, tuple]] = {src: {} for src in sim._links}
    for src, dst, last, buf, i in links:
        saved[src][dst] = (last, buf, i)
    for src, by_dst in saved.items():
        if sources is None or src in sources:
            restore_links_of(sim, src, by_dst)


def restore_links_of(sim: Simulation, src: str, saved: dict[str, tuple]) -> None:
    """Put back ``src``'s outgoing links: ``saved`` maps a destination to ``(last, buffer,
    index)``; a link not in it goes back to a pristine stream; a saved link missing is made."""
    mine = sim._links[src]
    for dst, link in mine.items():
        last, buf, i = saved.get(dst, (0, [], 0))
        if not buf and link.uniform._buf:   # drawn since: back to a pristine stream
            name = f"net:{src}->{dst}"
            gen = sim._streams[name] = stream(sim.seed, name)
            link.uniform._gen = gen
        model = sim._overrides.get((src, dst), sim._default_link)
        if link.model is not model:
            link.configure(model)
        link.last, link.uniform._buf, link.uniform._i = last, buf, i
    for dst, (last, buf, i) in saved.items():
        if dst not in mine:
            link = sim._new_link(src, dst)
            link.last, link.uniform._buf, link.uniform._i = last, buf, i


# -- per-node snapshots, for the explorer's fast path --------------------------------------
class Snapshot(NamedTuple):
    """Like :class:`Checkpoint`, with each node's attributes pickled on its own and the
    streams and links grouped by the node that uses them, so that :func:`restore` can put
    back only what a step touched (see :func:`snapshot`)."""

    now: int
    seq: int
    nodes: dict[str, bytes]     # node id -> its pickled attributes
    faults: bytes               # pickled: statuses, fault sets, clock offsets
    entries: tuple[tuple, ...]  # the live queue entries, sorted (a sorted list is a heap)
    backlog: tuple[tuple[str, tuple[tuple, ...]], ...]
    streams: dict[str, tuple[tuple[str, Mapping[str, Any]], ...]]  # owner -> drawn streams
    links: dict[str, tuple[tuple[str, str, int, list, int], ...]]  # sender -> its links
    rows: tuple[tuple, ...]


def _pickle_node(node: Any) -> bytes:
    return pickle.dumps({k: v for k, v in node.__dict__.items() if k not in _KERNEL_ATTRS},
                        protocol=pickle.HIGHEST_PROTOCOL)


def _owner(stream_name: str) -> str:
    """The node a stream belongs to: ``node:a``, ``clock:a``, ``net:a->b`` (the sender)."""
    return stream_name.split(":", 1)[-1].split("->", 1)[0]


def dump_faults(sim: Simulation) -> bytes:
    """The fault state (statuses, link overrides, partitions, clock offsets), pickled."""
    return pickle.dumps((sim._impaired, sim._overrides, sim._partition_pairs, sim._cuts,
                         sim._clock_offset, sim._physical), protocol=pickle.HIGHEST_PROTOCOL)


def load_faults(sim: Simulation, data: bytes) -> None:
    """Put back a fault state taken by :func:`dump_faults`."""
    _set_faults(sim, *pickle.loads(data))


def _set_faults(sim: Simulation, impaired: Any, overrides: Any, pairs: Any, cuts: Any,
                offsets: Any, physical: Any) -> None:
    # the event loop holds references to these containers: mutate them in place
    sim._impaired.clear()
    sim._impaired.update(impaired)
    sim._overrides = overrides
    sim._partition_pairs = pairs
    sim._cuts.clear()
    sim._cuts.update(cuts)
    sim._refresh_blocked()
    sim._clock_offset = offsets
    for nid, pc in physical.items():       # drifting clocks (sim/clock.py) share the node's stream
        pc.rng = sim.rng(f"clock:{nid}")
    sim._physical = physical


def snapshot(sim: Simulation, parent: Snapshot | None = None,
             touched: Iterable[str] | None = None) -> Snapshot:
    """Capture ``sim`` like :func:`checkpoint`. With ``parent`` and ``touched``, ``sim`` must
    have been reached from ``parent`` by a step that changed only the nodes in ``touched``
    (their attributes, streams and links; no fault changes): the rest is shared with
    ``parent``, which makes sharing visible to :func:`restore` (``loaded``)."""
    if parent is None or touched is None:
        nodes = {nid: _pickle_node(n) for nid, n in sim._nodes.items()}
        faults = dump_faults(sim)
        owners = tuple(nodes)
    else:
        nodes = dict(parent.nodes)
        owners = tuple(touched)
        for nid in owners:
            nodes[nid] = _pickle_node(sim._nodes[nid])
        faults = parent.faults
    pristine = {f"net:{src}->{dst}" for src in owners for dst, link in sim._links[src].items()
                if not link.uniform._buf}
    drawn: dict[str, list] = {nid: [] for nid in owners}
    for name, gen in sim._streams.items():
        owner = _owner(name)
        if owner in drawn and name not in pristine:
            drawn[owner].append((name, gen.bit_generator.state))
    streams = dict(parent.streams) if parent is not None and touched is not None else {}
    links = dict(parent.links) if parent is not None and touched is not None else {}
    for nid in owners:
        mine = tuple(drawn[nid])
        old = streams.get(nid)
        streams[nid] = old if old == mine else mine
        links[nid] = tuple((nid, dst, link.last, link.uniform._buf, link.uniform._i)
                           for dst, link in sim._links[nid].items())
    entries = tuple(sorted(tuple(e) for e in sim._heap if e[KIND] != DEAD))
    backlog = tuple((nid, tuple(tuple(e) for e in queued)) for nid, queued in sim._backlog.items())
    return Snapshot(sim._now, sim._seq, nodes, faults, entries, backlog, streams, links,
                    tuple(sim.trace._rows))


def restore(sim: Simulation, snap: Snapshot, touched: Iterable[str] | None = None,
            faults: bool = True, loaded: dict[str, bytes] | None = None) -> None:
    """Put ``sim`` back into the state captured by ``snap``, like :func:`rollback`.

    With ``touched`` (node ids), ``sim`` must have been reached from ``snap`` by steps that
    changed only those nodes (their attributes, random streams and links; a node's handlers
    change only its own node) and, only if ``faults``, the fault state: the rest is kept.
    ``loaded``, kept by the caller, maps a node id to the pickle its attributes were last
    restored from (the caller removes a node it lets change); a node whose entry is the very
    pickle ``snap`` holds is not reloaded (``snapshot`` shares unchanged nodes' pickles).
    """
    sim._now = snap.now
    sim._seq = snap.seq
    _restore_events(sim, [_entry(e) for e in snap.entries],
                    {nid: [_entry(e) for e in queued] for nid, queued in snap.backlog})
    ids = tuple(sim._nodes) if touched is None else tuple(touched)
    loads = pickle.loads
    for nid in ids:
        data = snap.nodes[nid]
        if loaded is not None:
            if loaded.get(nid) is data:
                continue
            loaded[nid] = data
        d = sim._nodes[nid].__dict__
        kept = {k: d[k] for k in _KERNEL_ATTRS if k in d}
        d.clear()
        d.update(loads(data))
        d.update(kept)
    if faults and (loaded is None or loaded.get("") is not snap.faults):
        if loaded is not None:
            loaded[""] = snap.faults      # "" is no node id (Node requires a non-empty id)
        load_faults(sim, snap.faults)
    for nid in ids:
        for name, state in snap.streams.get(nid, ()):
            bits = sim.rng(name).bit_generator
            if bits.state != state:
                bits.state = state
    _restore_links(sim, tuple(link for nid in ids for link in snap.links.get(nid, ())), set(ids))
    rows = sim.trace._rows
    if touched is not None and len(rows) >= len(snap.rows):
        del rows[len(snap.rows):]       # the steps since only appended
    else:
        rows[:] = snap.rows
    del sim.trace._events[:]


def _restore_events(sim: Simulation, heap: list[Entry], backlog: dict[str, list[Entry]]) -> None:
    """Put back the event heap and paused nodes' backlogs, and rebuild the kernel's indexes of
    them (each node's live timers, each paused node's resume event)."""
    sim._heap[:] = heap
    timers: dict[str, dict[int, Entry]] = {nid: {} for nid in sim._nodes}
    resume_at: dict[str, Entry] = {}
    for e in heap:
        if e[KIND] == TIMER:
            timers[e[NODE]][e[ID]] = e
        elif e[KIND] == RESUME:
            resume_at[e[NODE]] = e
    for queued in backlog.values():
        for e in queued:
            if e[KIND] == TIMER:
                timers[e[NODE]][e[ID]] = e
    sim._timers = timers
    sim._resume_at = resume_at
    sim._backlog = backlog
