"""Raft's panel for the HTML trace player (``ds.viz.replay``): RaftScope's views, from a trace.

Registered as the ``raft`` entry point of ``dscourse.replay_panels`` (see
:mod:`dscourse.viz.replay_plugins`). The player shows, at its cursor, each server's term and
role (from ``annotate(role=..., term=...)``), its election timer as a bar that drains toward
the timeout (the ``election`` timer's set and due times), and the log matrix: one row per
server, one cell per entry coloured by term, committed entries outlined up to the server's
commit index (``annotate(commit=...)``).

The logs are rebuilt from the messages in the trace, by the rules of Figure 2 of the
extended paper (Ongaro and Ousterhout, 2014):

* a leader's AppendEntries shows its log at ``prev_log_index + 1 ..`` (a leader only
  appends, §5.3 "Leader Append-Only", and it broadcasts a new entry in the same instant);
* a follower changes its log exactly when it answers an AppendEntries with success:
  "If an existing entry conflicts with a new one (same index but different terms), delete
  the existing entry and all that follow it; append any new entries not already in the
  log" (receiver rules 3 and 4);
* a successful InstallSnapshot (§7) replaces the prefix up to ``last_included_index``.

The log is durable (it survives a crash), so a recovered server's row is kept. The commit
index is volatile: a leader announces its own (``annotate(commit=...)``), a follower takes
``min(leaderCommit, index of last new entry)`` when it accepts an AppendEntries (rule 5), an
installed snapshot commits its prefix, and a restart starts again from the snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from ..viz.replay_plugins import Panel

LABELS = ("AppendEntries", "RequestVote", "AppendEntriesReply", "RequestVoteReply")
SNAPSHOT = "snapshot"


def command_text(command: Any) -> str:
    """A log entry's command as the log matrix shows it (JSON, cut to 24 characters)."""
    text = command if isinstance(command, str) else json.dumps(command, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 24 else text[:21] + "..."


def rebuild_logs(events: Sequence[Any], nodes: Sequence[str], start: int = 0,
                 stop: int | None = None) -> tuple[dict[str, list[list[Any]]], list[list[Any]]]:
    """Every server's log, rebuilt from the trace (see the module docstring).

    Returns the logs just before event ``start`` (``node -> [[term, command], ...]``) and
    the changes of events ``start .. stop - 1``: ``[seq, node_index, first, entries]``
    meaning "after event ``seq``, the log is its first ``first - 1`` entries plus ``entries``".
    """
    stop = len(events) if stop is None else stop
    ix = {n: i for i, n in enumerate(nodes)}
    logs: dict[str, list[list[Any]]] = {n: [] for n in nodes}
    pending: dict[tuple[str, str], dict[str, Any]] = {}   # (follower, leader) -> delivered request
    init: dict[str, list[list[Any]]] | None = None
    changes: list[list[Any]] = []

    def write(seq: int, node: str, first: int, entries: list[list[Any]], truncate: bool) -> None:
        log = logs[node]
        new = list(log)
        for k, entry in enumerate(entries):
            index = first + k
            if index <= len(new):
                if new[index - 1][0] == entry[0] and not truncate:
                    continue
                if truncate:   # rule 3: a conflict deletes the entry and all that follow it
                    if new[index - 1][0] == entry[0]:
                        continue
                    del new[index - 1:]
                else:          # a leader's own entry at this index (it never truncates)
                    new[index - 1] = entry
                    continue
            new.append(entry)
        if new != log:
            common = next((k for k, (a, b) in enumerate(zip(log, new, strict=False)) if a != b),
                          min(len(log), len(new)))
            logs[node] = new
            if seq >= start:
                changes.append([seq, ix[node], common + 1, new[common:]])

    for seq, e in enumerate(events[:stop]):
        if seq == start:
            init = {n: [list(x) for x in log] for n, log in logs.items()}
        if e.node not in ix or not isinstance(e.data, dict):
            continue
        d = e.data
        if e.kind == "send" and e.label == "AppendEntries":
            entries = [[t, command_text(c)] for t, c in d.get("entries", [])]
            write(seq, e.node, d["prev_log_index"] + 1, entries, truncate=False)
        elif e.kind == "deliver" and e.label in ("AppendEntries", "InstallSnapshot"):
            pending[(e.node, e.peer)] = {"label": e.label, **d}
        elif e.kind == "send" and e.label == "AppendEntriesReply" and d.get("success"):
            req = pending.pop((e.node, e.peer), None)
            if req and req["label"] == "AppendEntries":
                entries = [[t, command_text(c)] for t, c in req.get("entries", [])]
                write(seq, e.node, req["prev_log_index"] + 1, entries, truncate=True)
        elif e.kind == "send" and e.label == "InstallSnapshotReply":
            req = pending.pop((e.node, e.peer), None)
            if req and req["label"] == "InstallSnapshot":
                last = req["last_included_index"]
                log = logs[e.node]
                keep = log[last:] if len(log) > last and log[last - 1][0] == req["last_included_term"] else []
                new = [[req["last_included_term"], SNAPSHOT]] * last + keep
                logs[e.node] = []
                write(seq, e.node, 1, new, truncate=True)
    if init is None:
        init = {n: [list(x) for x in log] for n, log in logs.items()}
    return init, changes


def rebuild_commits(events: Sequence[Any], nodes: Sequence[str], start: int = 0,
                    stop: int | None = None) -> tuple[dict[str, int], list[list[int]]]:
    """Every server's commit index just before event ``start`` and its changes in
    ``start .. stop - 1`` as ``[seq, node_index, commit]`` (see the module docstring)."""
    stop = len(events) if stop is None else stop
    ix = {n: i for i, n in enumerate(nodes)}
    commit = dict.fromkeys(nodes, 0)
    base = dict.fromkeys(nodes, 0)
    pending: dict[tuple[str, str], dict[str, Any]] = {}
    init: dict[str, int] | None = None
    changes: list[list[int]] = []

    def set_commit(seq: int, node: str, value: int) -> None:
        if value != commit[node]:
            commit[node] = value
            if seq >= start:
                changes.append([seq, ix[node], value])

    for seq, e in enumerate(events[:stop]):
        if seq == start:
            init = dict(commit)
        if e.node not in ix:
            continue
        d = e.data if isinstance(e.data, dict) else {}
        if e.kind == "annotate" and isinstance(d.get("commit"), int):
            set_commit(seq, e.node, d["commit"])
        elif e.kind == "recover":
            set_commit(seq, e.node, base[e.node])
        elif e.kind == "deliver" and e.label in ("AppendEntries", "InstallSnapshot"):
            pending[(e.node, e.peer)] = {"label": e.label, **d}
        elif e.kind == "send" and e.label == "AppendEntriesReply" and d.get("success"):
            req = pending.pop((e.node, e.peer), None)
            if req and req["label"] == "AppendEntries":
                match = req["prev_log_index"] + len(req.get("entries", []))
                new = min(req["leader_commit"], match)
                if new > commit[e.node]:
                    set_commit(seq, e.node, new)
        elif e.kind == "send" and e.label == "InstallSnapshotReply":
            req = pending.pop((e.node, e.peer), None)
            if req and req["label"] == "InstallSnapshot":
                base[e.node] = max(base[e.node], req["last_included_index"])
                if base[e.node] > commit[e.node]:
                    set_commit(seq, e.node, base[e.node])
    return (init if init is not None else dict(commit)), changes


def prepare(events: Sequence[Any], start: int, stop: int, nodes: list[str]) -> dict[str, Any]:
    """The panel's data: logs at the window's start and their changes inside it."""
    servers = sorted({e.node for e in events[:stop] if e.kind == "send" and e.label in LABELS}
                     | {e.peer for e in events[:stop] if e.kind == "send" and e.label in LABELS[:2]},
                     key=nodes.index)
    init, changes = rebuild_logs(events, nodes, start, stop)
    commit, commits = rebuild_commits(events, nodes, start, stop)
    return {"servers": servers, "init": {n: init[n] for n in servers}, "changes": changes,
            "commit": {n: commit[n] for n in servers}, "commits": commits}


PANEL = Panel(
    name="raft",
    title="Raft: terms, roles, election timers, logs and commit index",
    script=files(__package__).joinpath("replay_panel.js").read_text(encoding="utf-8"),
    prepare=prepare,
    labels=LABELS,
    css=("[data-dscourse-player] .dsp-raft .dsp-rl-entry"
         "{text-align:center;border:1px dashed #999;min-width:14px;padding:1px 3px}"
         "[data-dscourse-player] .dsp-raft .dsp-rl-committed{border:2px solid #222}"
         "[data-dscourse-player] .dsp-raft .dsp-rl-empty{border:none}"
         "[data-dscourse-player] .dsp-raft .dsp-rl-ix{font-weight:400;color:#777;text-align:center}"
         "[data-dscourse-player] .dsp-raft .dsp-rl-down{opacity:.5}"
         "[data-dscourse-player] .dsp-raft .dsp-rl-role{padding:0 5px;border-radius:3px}"),
)
