"""E15.4's harness: a configuration client's failure handling, as two pure functions.

The student writes

* ``start(saved) -> snapshot``: what the client serves when its process starts; ``saved`` is
  the local snapshot file (key -> content, ``{}`` if none: Nacos's ``LocalConfigInfoProcessor``
  failover/snapshot files, Apollo's ``LocalFileConfigRepository``);
* ``on_result(snapshot, result, failures) -> [snapshot, delay_ms]``: after each poll,
  ``result`` is ``["changed", {key: content}]`` (new content fetched), ``["unchanged"]`` (the
  hold ended with no change) or ``["error", "refused" | "timeout"]`` (the server is down or
  did not answer in time); ``failures`` counts the consecutive failed polls, this one
  included (0 after a success). Return the snapshot the application reads from now on and
  when to poll again (ms; ``None`` stops polling).

:class:`DrillClient` is the rest of a Nacos 1.x client (post the snapshot's MD5s with a 30 s
timeout, fetch the changed keys, write the snapshot file when new content arrives) against the
library's :class:`NacosConfigServer`. A poll while the server is down is refused after one
RTT (the operating system's reset). Properties (one test each):

* ``snapshot`` -- while the server is down, every client serves the last content it received,
  never an empty or missing config (sampled every second);
* ``cold_start`` -- a client restarted during the outage serves its snapshot file at once;
* ``resync`` -- after the server recovers (and a new release is published), every client has
  it within 65 s, without a restart (retry at least once a minute);
* ``backoff`` -- during the outage no client polls more than once per 2 s on average (a tight
  retry loop is a thundering herd on the recovering server; Nacos waits 2 s after a failed
  poll, Apollo backs off 1 s ... 120 s).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.trial import Trial, selected
from ..errors import ConfigError, allowed
from ..sim import Node, Simulation, reliable, stream
from .client import FETCH_TIMEOUT_MS, NACOS_TIMEOUT_MS
from .messages import ConfigReply, GetConfig, Listen, ListenReply
from .model import NO_MD5, md5
from .server import NacosConfigServer

Fn = Callable[..., Any]
DRILL_PROPERTIES = ("snapshot", "cold_start", "resync", "backoff")
LATENCY_MS = 5.0
KEYS = ("application.yaml", "db.yaml")
RESYNC_MS = 65_000.0
MIN_GAP_MS = 2_000.0
MAX_DELAY_MS = 3_600_000.0


def _snapshot(value: Any, what: str) -> dict[str, str]:
    if type(value) is not dict or not all(type(k) is str and type(v) is str for k, v in value.items()):
        raise allowed(what, repr(value)[:80], "a dict of key (str) -> content (str)")
    return dict(value)


class DrillClient(Node):
    """A Nacos 1.x long-poll client whose failure handling is the student's (see the module
    docstring); subclassed per answer by :func:`drill_cluster`."""

    start_fn: Fn = staticmethod(lambda saved: dict(saved))
    result_fn: Fn = staticmethod(lambda snapshot, result, failures: [snapshot, 0])

    def __init__(self, id: str, server: str = "server", keys: tuple[str, ...] = KEYS) -> None:
        super().__init__(id)
        self.server, self.keys = server, tuple(keys)
        self.snapshot: dict[str, str] = {}
        self.rid = 0
        self.failures = 0
        self.fetching: dict[str, str | None] = {}
        self.throttled = False

    @property
    def file(self) -> dict[str, str]:
        """The local snapshot file (survives a restart): written by the client library when new
        content arrives, whatever the answer does with its in-memory snapshot."""
        return self.stable.setdefault("file", {})

    @property
    def polls(self) -> list[float]:
        return self.stable.setdefault("polls", [])

    def on_start(self) -> None:
        self.boot()

    def on_recover(self) -> None:
        self.boot()

    def boot(self) -> None:
        self.snapshot = _snapshot(type(self).start_fn(dict(self.file)), "start() result")
        self.stable["booted"] = (self.now, dict(self.snapshot))
        self.poll()

    def poll(self) -> None:
        self.rid += 1
        self.fetching = {}
        self.polls.append(self.now)
        if self._sim.status(self.server) == "crashed":
            self.set_timer(2 * LATENCY_MS, "refused", self.rid)
            return
        md5s = tuple((k, md5(self.snapshot[k]) if k in self.snapshot else NO_MD5) for k in self.keys)
        self.send(self.server, Listen(self.rid, md5s, NACOS_TIMEOUT_MS))
        self.set_timer(NACOS_TIMEOUT_MS, "timeout", self.rid)

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is ListenReply and msg.rid == self.rid and not self.fetching:
            if not msg.changed:
                self.result(["unchanged"])
                return
            self.fetching = dict.fromkeys(msg.changed)
            for k in msg.changed:
                self.send(self.server, GetConfig(self.rid, k))
            self.set_timer(FETCH_TIMEOUT_MS, "timeout", self.rid)
        elif type(msg) is ConfigReply and msg.rid == self.rid and msg.key in self.fetching:
            self.fetching[msg.key] = msg.content or ""
            if all(v is not None for v in self.fetching.values()):
                got = {k: v for k, v in self.fetching.items() if v}
                self.file.update(got)
                self.result(["changed", got])

    def on_timer(self, name: str, payload: Any) -> None:
        if name in ("refused", "timeout") and payload == self.rid:
            self.rid += 1  # late answers to this poll are ignored
            self.result(["error", name])
        elif name == "poll" and payload == self.rid:
            self.poll()

    def result(self, result: list[Any]) -> None:
        self.failures = self.failures + 1 if result[0] == "error" else 0
        self.fetching = {}
        out = type(self).result_fn(dict(self.snapshot), json.loads(json.dumps(result)), self.failures)
        if type(out) not in (list, tuple) or len(out) != 2:
            raise allowed("on_result() result", repr(out)[:80], "[snapshot, delay_ms]")
        self.snapshot = _snapshot(out[0], "on_result() snapshot")
        delay = out[1]
        if delay is None:
            return
        if type(delay) not in (int, float) or not 0 <= delay <= MAX_DELAY_MS:
            raise allowed("on_result() delay", delay, f"None or a number of ms in [0, {MAX_DELAY_MS:g}]")
        if self.throttled:
            delay = max(delay, MIN_GAP_MS)
        self.set_timer(float(delay), "poll", self.rid)


def drill_trial(start: Fn, on_result: Fn, seed: int, *, clients: int = 12, restarts: int = 4,
                properties: Iterable[str] = DRILL_PROPERTIES) -> Trial:
    """Clients converge on release 2, the server is down for 90-200 s (seeded), ``restarts``
    clients restart in the middle of the outage, the server recovers and release 3 is
    published; every failed property is listed."""
    props = selected(properties, DRILL_PROPERTIES)
    trial = Trial(seed)
    cls = type("Client", (DrillClient,), {"start_fn": staticmethod(start), "result_fn": staticmethod(on_result)})
    sim = Simulation(seed=seed, network=reliable(latency=LATENCY_MS))
    trial.trace = sim.trace
    server = NacosConfigServer("server")
    nodes: list[DrillClient] = [cls(f"c{i}") for i in range(clients)]
    for node in (server, *nodes):
        sim.add_node(node)
    problems: dict[str, str] = {}
    when: dict[str, float] = {}
    rng = stream(seed, "E15.4")
    outage = float(rng.uniform(90_000, 200_000))
    down, up = 20_000.0, 20_000.0 + outage
    restart_at = down + 1_000.0 * int(outage / 2_000)
    restarted = [nodes[int(i)] for i in rng.choice(clients, size=restarts, replace=False)]
    try:
        for k in KEYS:
            server.publish(k, f"{k}: release 1")
        sim.run(until=10_000.0)
        for k in KEYS:
            server.publish(k, f"{k}: release 2")
        sim.run(until=down)
        sim.crash("server")
        polls_before = {c.id: len(c.polls) for c in nodes}
        t = down
        while t < up:
            t += 1_000.0
            sim.run(until=min(t, up))
            if sim.now == restart_at:
                for c in restarted:
                    sim.crash(c.id)
                    sim.recover(c.id)
                    booted = c.stable["booted"][1]
                    if booted != c.file and "cold_start" not in problems:
                        when["cold_start"] = sim.now
                        problems["cold_start"] = (f"Cold start: {c.id} restarted at t={sim.now:g} ms while the server "
                                                  f"was down; its snapshot file held {c.file}, start() served "
                                                  f"{booted}")
            for c in nodes:
                if c in restarted and sim.now >= restart_at:
                    continue
                if c.snapshot != c.file and "snapshot" not in problems:
                    when["snapshot"] = sim.now
                    problems["snapshot"] = (f"Snapshot: at t={sim.now:g} ms, {sim.now - down:g} ms into the outage, "
                                            f"{c.id} served {c.snapshot}; the last content it received was {c.file} "
                                            "(keep serving it when a poll fails)")
            for c in nodes:
                n = len(c.polls) - polls_before[c.id]
                if not c.throttled and n > (sim.now - down) / MIN_GAP_MS + 5:
                    c.throttled = True   # the harness enforces the gap from now on, so resync stays judgeable
                    when.setdefault("backoff", sim.now)
                    problems.setdefault("backoff", f"Backoff: {c.id} polled {n} times in the first "
                                                   f"{sim.now - down:g} ms of the outage (at most one poll per "
                                                   f"{MIN_GAP_MS / 1000:g} s on average: back off after failures)")
        sim.recover("server")
        for k in KEYS:
            server.publish(k, f"{k}: release 3")
        want = {k: f"{k}: release 3" for k in KEYS}
        sim.run_until(lambda: all(c.snapshot == want for c in nodes), RESYNC_MS)
        behind = [c for c in nodes if c.snapshot != want]
        if behind:
            c = behind[0]
            when["resync"] = sim.now
            problems["resync"] = (f"Resync: {RESYNC_MS / 1000:g} s after the server recovered (down "
                                  f"{outage / 1000:.0f} s), {len(behind)} of {clients} clients, e.g. {c.id}, still "
                                  f"served {c.snapshot}; its last poll was at t={c.polls[-1]:g} ms "
                                  f"(keep polling: retry at least once a minute)")
        trial.facts.update(outage_ms=outage, polls_in_outage=max(len(c.polls) - polls_before[c.id] for c in nodes))
    except ConfigError as exc:
        return trial.fail(f"unusable answer: {exc}")
    for p in props:
        if p in problems:
            trial.violate(problems[p], when.get(p))
    return trial
