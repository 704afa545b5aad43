"""Paxos's panel for the HTML trace player (``ds.viz.replay``): ballots and accepted values
per acceptor, and the value a majority has accepted.

Registered as the ``paxos`` entry point of ``dscourse.replay_panels`` (see
:mod:`dscourse.viz.replay_plugins`). An acceptor's state follows the paper's rules on each
delivery (Lamport, "Paxos Made Simple", 2001, §2.2): a ``Prepare(b)`` with ``b`` at least its
promise raises the promise to ``b`` (Phase 1b); an ``Accept(b, v)`` with ``b`` at least its
promise casts the vote ``(b, v)`` (Phase 2b). What the acceptor then says overrides the rule
(so a broken acceptor shows what it really did): its Promise carries its promise and its
highest vote, its Accepted the vote it cast, its Nack its promise. Multi-Paxos messages
(``MPrepare``/``MAccept`` in, ``MPromise``, ``MAccepted``, ``MNack`` out) do the same per log
slot; an ``MAccepted`` names the slot and ballot, and the value is the one the leader's
``MAccept`` proposed for them. A Multi-Paxos leader is its own acceptor: it promises its
ballot as it sends ``MPrepare`` and votes for a proposal as it sends ``MAccept``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from ..viz.replay_plugins import Panel, message_fields

LABELS = ("Prepare", "Promise", "Accept", "Accepted", "MPrepare", "MPromise", "MAccept", "MAccepted")
ACCEPTOR_SAYS = ("Promise", "Accepted", "Nack", "MPromise", "MAccepted", "MNack")
ACCEPTOR_HEARS = ("Prepare", "Accept", "MPrepare", "MAccept")


def _ballot_key(ballot: Any) -> tuple[int, str]:
    """A ballot as a comparable ``(round, node)`` pair, from a message or from its text."""
    if isinstance(ballot, dict):
        return int(ballot.get("round", 0)), str(ballot.get("node") or "")
    if isinstance(ballot, str) and ballot.startswith("("):
        r, n = ballot[1:-1].split(",", 1)
        return int(r), "" if n == "-" else n
    return int(ballot[0]), str(ballot[1] or "")


def ballot_text(ballot: Any) -> str:
    """A ballot as the paper writes it, ``(round,node)`` (``(0,-)`` below every ballot)."""
    if isinstance(ballot, dict):
        return f"({ballot.get('round')},{ballot.get('node') or '-'})"
    if isinstance(ballot, (list, tuple)) and len(ballot) == 2:
        return f"({ballot[0]},{ballot[1] or '-'})"
    return str(ballot)


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 24 else text[:21] + "..."


def _foreign(e: Any, known: dict[str, frozenset[str] | None]) -> bool:
    """Whether a trace event carries another topic's message under a Paxos label (2PC's
    ``Prepare(txid, writes)`` beside Paxos's ``Prepare(ballot)``, as in Paxos Commit): the
    panel then ignores it, also when a caller forces the panel with ``panels="paxos"``.
    ``known`` memoizes each label's fields for one pass over a trace (the lookup scans the
    loaded modules)."""
    if not isinstance(e.label, str):
        return False               # a timer, a crash, an annotation: no message
    if e.label not in known:
        known[e.label] = message_fields(PANEL, e.label)
    fields = known[e.label]
    return fields is not None and frozenset(e.data) != fields


def acceptor_states(events: Sequence[Any], start: int = 0, stop: int | None = None,
                    known: dict[str, frozenset[str] | None] | None = None
                    ) -> tuple[dict[str, dict[str, Any]], list[list[Any]]]:
    """Each acceptor's ``{"promised": ballot, "accepted": {slot: [ballot, value]}}`` just
    before event ``start``, and its changes in ``start .. stop - 1`` as
    ``[seq, acceptor, state]`` (slot ``""`` for Basic Paxos); ``known``: as for :func:`_foreign`."""
    stop = len(events) if stop is None else stop
    known = {} if known is None else known
    states: dict[str, dict[str, Any]] = {}
    proposed: dict[tuple[str, int], Any] = {}
    init: dict[str, dict[str, Any]] | None = None
    changes: list[list[Any]] = []
    for seq, e in enumerate(events[:stop]):
        if seq == start:
            init = json.loads(json.dumps(states))
        if not isinstance(e.data, dict) or _foreign(e, known):
            continue
        d = e.data
        if e.kind == "send" and e.label == "MAccept":
            proposed[(ballot_text(d["ballot"]), d["slot"])] = d["value"]
        # a delivered request, or a Multi-Paxos leader's own vote: it promises its ballot when
        # it sends MPrepare and votes for its proposal before it sends MAccept (multi.py)
        own = e.kind == "send" and e.label in ("MPrepare", "MAccept")
        if (e.kind == "deliver" and e.label in ACCEPTOR_HEARS) or own:
            old = states.get(e.node, {"promised": "(0,-)", "accepted": {}})
            ballot = _ballot_key(d["ballot"])
            if ballot < _ballot_key(old["promised"]):
                continue
            new: dict[str, Any] = {"promised": ballot_text(d["ballot"]), "accepted": dict(old["accepted"])}
            if e.label in ("Accept", "MAccept"):
                slot = "" if e.label == "Accept" else str(d["slot"])
                new["accepted"][slot] = [ballot_text(d["ballot"]), _value(d["value"])]
            if new != old:
                states[e.node] = new
                if seq >= start:
                    changes.append([seq, e.node, new])
            continue
        if e.kind != "send" or e.label not in ACCEPTOR_SAYS:
            continue
        old = states.get(e.node, {"promised": "(0,-)", "accepted": {}})
        new = {"promised": old["promised"], "accepted": dict(old["accepted"])}
        if e.label in ("Nack", "MNack"):
            new["promised"] = ballot_text(d["promised"])
        else:
            new["promised"] = ballot_text(d["ballot"])
        if e.label == "Promise" and d.get("accepted"):
            vote = d["accepted"]
            new["accepted"][""] = [ballot_text(vote["ballot"]), _value(vote["value"])]
        elif e.label == "Accepted":
            new["accepted"][""] = [ballot_text(d["ballot"]), _value(d["value"])]
        elif e.label == "MPromise":
            for slot, ballot, value in d.get("votes", []):
                new["accepted"][str(slot)] = [ballot_text(ballot), _value(value)]
        elif e.label == "MAccepted":
            b = ballot_text(d["ballot"])
            new["accepted"][str(d["slot"])] = [b, _value(proposed.get((b, d["slot"]), "?"))]
        if new != old:
            states[e.node] = new
            if seq >= start:
                changes.append([seq, e.node, new])
    return (init if init is not None else json.loads(json.dumps(states))), changes


def prepare(events: Sequence[Any], start: int, stop: int, nodes: list[str]) -> dict[str, Any]:
    """The panel's data: the acceptors, their states at the window's start and the changes."""
    known: dict[str, frozenset[str] | None] = {}
    sent = [e for e in events[:stop] if e.kind == "send" and isinstance(e.data, dict) and not _foreign(e, known)]
    acceptors = sorted({e.node for e in sent if e.label in ACCEPTOR_SAYS}
                       | {e.peer for e in sent if e.label in ("Prepare", "MPrepare")}, key=nodes.index)
    init, changes = acceptor_states(events, start, stop, known)
    return {"acceptors": acceptors, "init": init, "changes": changes}


PANEL = Panel(
    name="paxos",
    title="Paxos: each acceptor's promised ballot and accepted values",
    script=files(__package__).joinpath("replay_panel.js").read_text(encoding="utf-8"),
    prepare=prepare,
    labels=LABELS,
    css="[data-dscourse-player] .dsp-paxos .dsp-px-chosen{background:#c7e9c0;font-weight:600}",
)
