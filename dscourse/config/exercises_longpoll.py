"""E15.1's harness: a Nacos 1.x long-poll server written as one pure function of plain data.

The student writes ``long_poll(state, event, current) -> [new_state, actions]``:

* ``state`` is the student's own plain data (None before the first event; dicts with str
  keys, lists, str, numbers, bool, None), kept by the harness between calls;
* ``event`` is ``["listen", client, rid, posted, timeout_ms]`` (a poll arrived: ``posted`` maps
  each key to the MD5 the client has, ``""`` for none), ``["publish", key]`` (an operator
  published ``key``; ``current`` already has its new MD5) or ``["timer", payload]`` (a timer
  the function set fired);
* ``current`` maps every key the clients watch to the server's MD5 (``""`` if never published);
* ``actions`` is a list of ``["reply", client, rid, keys]`` (answer that poll with the changed
  keys, ``[]`` when nothing changed) and ``["timer", delay_ms, payload]`` (call back with
  ``["timer", payload]`` after ``delay_ms``).

:class:`StudentLongPollServer` wraps the function in a :class:`NacosConfigServer` (which keeps
the store and answers the content fetches) and the clients are the library's
:class:`NacosClient` (Nacos ``ClientWorker``: post the MD5s with a 30 s timeout, fetch each
changed key, poll again). Properties (one test each):

* ``early`` -- after a publish, the p99 time until a client *learns* of it (the answer naming
  the key arrives) is at most one RTT plus 5 ms of processing;
* ``idle`` -- with no change, about one poll per client per hold period (29.5 s: within ±10% of
  duration / 29.5 s) and no poll ends by the client's own timeout;
* ``changed_only`` -- an answer names only keys whose posted MD5 differs from the server's
  at that moment (Nacos ``MD5Util.compareMd5``: an unchanged key would be fetched for
  nothing; a changed key left out is the ``race`` property's failure);
* ``race`` -- no lost update: the server never holds a poll whose posted MD5 is out of date
  (a client parked behind the latest release), in *every* interleaving of two publishes with
  one client's polls, fetches and timeouts (:func:`~dscourse.checkers.explore.explore`, time
  abstracted away, as ``tests/config/test_config_explore.py`` checks the library's server).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ..checkers.explore import explore
from ..checkers.trial import Trial, selected
from ..errors import ConfigError, allowed
from ..sim import Simulation, UniformInt, reliable, stream
from .client import NACOS_TIMEOUT_MS, NacosClient
from .messages import Listen, ListenReply
from .model import NO_MD5
from .server import HOLD_MARGIN_MS, NacosConfigServer

Fn = Callable[..., Any]
LONGPOLL_PROPERTIES = ("early", "idle", "changed_only", "race")
#: the one-way latency of the harness's network (ms); an RTT is twice this
LATENCY_MS = 5.0
PROCESSING_MS = 5.0
HOLD_MS = NACOS_TIMEOUT_MS - HOLD_MARGIN_MS
_MAX_STATE = 1 << 16


class Runaway(Exception):
    """The answer made the harness's run explode (a poll loop): the run stops there."""


def _plain(value: Any, what: str) -> str:
    """``value`` as canonical JSON (the harness keeps the student's state as plain data only)."""
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        raise allowed(what, repr(value)[:80], "plain data: dicts with str keys, lists, str, numbers, bool, None") \
            from None
    if len(text) > _MAX_STATE:
        raise allowed(f"{what} size", len(text), f"at most {_MAX_STATE} characters of JSON")
    return text


class StudentLongPollServer(NacosConfigServer):
    """A Nacos server whose long-poll decisions come from the student's ``long_poll``.

    ``open`` keeps every poll received and not yet answered (what it posted): the harness's
    view of the held requests, whatever the student's state looks like. ``replies`` logs
    ``(time, client, rid, keys, stale keys at that moment)``; ``bad`` the first answer that
    was not the changed keys. Subclassed per student function by :func:`server_class`.
    """

    long_poll: Fn = staticmethod(lambda state, event, current: [state, []])

    def __init__(self, id: str = "server", keys: tuple[str, ...] = ()) -> None:
        super().__init__(id)
        self.keys = tuple(keys)
        self.sstate = "null"
        self.open: dict[tuple[str, int], dict[str, str]] = {}
        self.log_replies = True
        self.budget: int | None = None  # calls allowed before the run is stopped (a poll loop)
        self.replies: list[tuple[float, str, int, tuple[str, ...], tuple[str, ...]]] = []

    def state(self) -> tuple[Any, ...]:
        store = self.store
        return (tuple(sorted((k, store.md5(k)) for k in store.releases)), self.sstate,
                tuple(sorted((c, r, tuple(sorted(p.items()))) for (c, r), p in self.open.items())))

    def current(self) -> dict[str, str]:
        store = self.store
        keys = dict.fromkeys(self.keys)
        keys.update(dict.fromkeys(store.releases))
        return {k: store.md5(k) for k in keys}

    def stale_holds(self) -> list[tuple[str, int]]:
        cur = self.current()
        return [cr for cr, posted in self.open.items() if any(cur.get(k, NO_MD5) != m for k, m in posted.items())]

    def stale_of(self, posted: dict[str, str]) -> tuple[str, ...]:
        cur = self.current()
        return tuple(k for k, m in posted.items() if cur.get(k, NO_MD5) != m)

    def call(self, event: list[Any]) -> None:
        if self.budget is not None:
            self.budget -= 1
            if self.budget < 0:
                raise Runaway(f"the server was called more than {self.stable['budget']} times by t={self.now:g} ms: "
                              "clients poll in a loop (hold a poll that has nothing new)")
        out = type(self).long_poll(json.loads(self.sstate), event, self.current())
        if type(out) not in (list, tuple) or len(out) != 2:
            raise allowed("long_poll() result", repr(out)[:80], "[new_state, actions]")
        state, actions = out
        self.sstate = _plain(state, "new state")
        if type(actions) not in (list, tuple):
            raise allowed("actions", repr(actions)[:80], "a list of actions")
        for a in actions:
            self.act(a)

    def act(self, a: Any) -> None:
        if type(a) in (list, tuple) and len(a) == 4 and a[0] == "reply":
            _, client, rid, keys = a
            if type(client) is not str or type(rid) is not int or type(keys) not in (list, tuple) \
                    or not all(type(k) is str for k in keys):
                raise allowed("reply action", repr(a)[:80], '["reply", client (str), rid (int), [key, ...]]')
            posted = self.open.pop((client, rid), None)
            if posted is None:
                return  # not an open poll (answered already, or never received): dropped
            stale = self.stale_of(posted)
            if self.log_replies:
                self.replies.append((self.now, client, rid, tuple(keys), stale))
            self.send(client, ListenReply(rid, tuple(keys)))
        elif type(a) in (list, tuple) and len(a) == 3 and a[0] == "timer":
            delay = a[1]
            if type(delay) not in (int, float) or not 0 <= delay <= 10 * NACOS_TIMEOUT_MS:
                raise allowed("timer delay", delay, f"a number of ms in [0, {10 * NACOS_TIMEOUT_MS}]")
            self.set_timer(float(delay), "student", json.loads(_plain(a[2], "timer payload")))
        else:
            raise allowed("action", repr(a)[:80], '["reply", client, rid, keys] or ["timer", delay_ms, payload]')

    def on_listen(self, src: str, msg: Listen) -> None:
        posted = dict(msg.md5s)
        self.open[(src, msg.rid)] = posted
        self.call(["listen", src, msg.rid, posted, msg.timeout])

    def changed(self, key: str) -> None:
        self.call(["publish", key])

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "student":
            self.call(["timer", payload])
        else:
            super().on_timer(name, payload)


def server_class(long_poll: Fn) -> type[StudentLongPollServer]:
    """A :class:`StudentLongPollServer` subclass calling ``long_poll`` (as the Paxos harness
    wraps an acceptor: the function lives on the class, so node state stays plain data)."""
    return type("LongPollServer", (StudentLongPollServer,), {"long_poll": staticmethod(long_poll)})


class LearningClient(NacosClient):
    """A :class:`NacosClient` that logs when it learns of a change and when its polls time out."""

    @property
    def learned(self) -> list[tuple[float, str]]:
        return self.stable.setdefault("learned", [])

    @property
    def timeouts(self) -> int:
        return int(self.stable.get("timeouts", 0))

    def listen(self) -> None:
        self.stable["polls"] = self.stable.get("polls", 0) + 1
        super().listen()

    def on_message(self, src: str, msg: Any) -> None:
        if type(msg) is ListenReply and msg.rid == self.poll_rid and self.poll_timer is not None:
            self.learned.extend((self.now, k) for k in msg.changed)
        super().on_message(src, msg)

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "poll_timeout" and payload == self.poll_rid:
            self.stable["timeouts"] = self.timeouts + 1
        super().on_timer(name, payload)


def _cluster(long_poll: Fn, seed: int, clients: int, keys: tuple[str, ...],
             latency: Any = LATENCY_MS) -> tuple[Simulation, StudentLongPollServer, list[LearningClient]]:
    sim = Simulation(seed=seed, network=reliable(latency=latency))
    server = server_class(long_poll)("server", keys)
    nodes = [LearningClient(f"c{i}", "server", keys) for i in range(clients)]
    for node in (server, *nodes):
        sim.add_node(node)
    for k in keys:
        server.store.publish(k, f"{k}: 0", 0.0)
    return sim, server, nodes


def _run(trial: Trial, body: Callable[[], None], props: tuple[str, ...] = ()) -> Trial:
    try:
        body()
    except ConfigError as exc:
        trial.violate(f"unusable answer: {exc}")
    except Runaway as exc:
        for p in props:
            trial.violate(f"{p.replace('_', ' ').capitalize()}: not judged, the run was stopped: {exc}")
    return trial


def _limit(server: StudentLongPollServer, calls: int) -> None:
    server.budget = calls
    server.stable["budget"] = calls


def _p99(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(0.99 * len(s)))] if s else float("inf")


def _changed_only(server: StudentLongPollServer) -> str | None:
    for t, client, rid, keys, stale in server.replies:
        extra = sorted(set(keys) - set(stale))
        if extra:
            return (f"Changed only: at t={t:g} ms the answer to {client}'s poll {rid} listed {list(keys)}, but only "
                    f"{list(stale)} had changed ({extra} had not: the client would fetch it for nothing)")
    return None


def long_poll_trial(long_poll: Fn, seed: int, *, clients: int = 30, publishes: int = 6,
                    properties: Iterable[str] = ("early", "idle", "changed_only")) -> Trial:
    """One seeded run: ``clients`` Nacos clients watching three keys; ten idle minutes
    (``idle``), then ``publishes`` publishes to random keys 40-80 s apart (``early``,
    ``changed_only``). Every failed property is listed."""
    props = selected(properties, LONGPOLL_PROPERTIES)
    trial = Trial(seed)
    keys = ("application.yaml", "db.yaml", "flags.yaml")

    def body() -> None:
        sim, server, nodes = _cluster(long_poll, seed, clients, keys)
        _limit(server, clients * (120 + 10 * publishes) + 500)
        trial.trace = sim.trace
        sim.run(until=2_000.0)          # first polls answered (nothing held yet), fetched
        start = {c.id: c.stable.get("polls", 0) for c in nodes}
        idle_ms = 600_000.0
        sim.run(until=2_000.0 + idle_ms)
        if "idle" in props:
            polls = [c.stable.get("polls", 0) - start[c.id] for c in nodes]
            expected = idle_ms / HOLD_MS
            worst = max(polls, key=lambda n: abs(n - expected))
            timeouts = sum(c.timeouts for c in nodes)
            if not 0.9 * expected <= worst <= 1.1 * expected:
                trial.violate(f"Idle: with no change for {idle_ms / 1000:g} s a client sent {worst} polls; expected "
                              f"about {expected:.1f} (one per {HOLD_MS / 1000:g} s hold, ±10%)", sim.now)
            if timeouts:
                trial.violate(f"Idle: {timeouts} polls ended by the client's own {NACOS_TIMEOUT_MS / 1000:g} s timeout "
                              f"(answer a held poll {HOLD_MARGIN_MS} ms before the timeout it posted)", sim.now)
        rng = stream(seed, "E15.1")
        at, delays = sim.now, []
        for i in range(publishes):
            at += float(rng.uniform(40_000, 80_000))
            key = keys[int(rng.integers(len(keys)))]
            sim.run(until=at)
            for c in nodes:
                c.learned.clear()
            server.publish(key, f"{key}: {i + 1}")
            sim.run(until=at + 35_000)
            for c in nodes:
                heard = [t for t, k in c.learned if k == key]
                delays.append(heard[0] - at if heard else float("inf"))
        bound = 2 * LATENCY_MS + PROCESSING_MS
        if "early" in props and _p99(delays) > bound:
            late = sum(d > bound for d in delays)
            trial.violate(f"Early: the p99 time from a publish until a client learned of it was "
                          f"{_p99(delays):g} ms ({late} of {len(delays)} later than {bound:g} ms = RTT + "
                          f"processing); answer held polls when their key changes", sim.now)
        if "changed_only" in props:
            problem = _changed_only(server)
            if problem:
                trial.violate(problem)
        trial.facts.update(p99_ms=_p99(delays), replies=len(server.replies))

    return _run(trial, body, props)


def race_trial(long_poll: Fn, seed: int, *, clients: int = 20, bursts: int = 8,
               properties: Iterable[str] = ("race", "changed_only")) -> Trial:
    """Adversarial timing: bursts of two publishes (to random keys of three) 1-12 ms apart, so
    the second lands while clients are between an answer and their next poll; jittered
    latency. ``race``: after every event no poll is held behind the latest release, and at
    the end every client has the latest content; ``changed_only`` as above."""
    props = selected(properties, LONGPOLL_PROPERTIES)
    trial = Trial(seed)
    keys = ("application.yaml", "db.yaml", "flags.yaml")

    def body() -> None:
        sim, server, nodes = _cluster(long_poll, seed, clients, keys, latency=UniformInt(2, 8))
        _limit(server, clients * (60 + 15 * bursts) + 500)
        trial.trace = sim.trace
        rng = stream(seed, "E15.1 race")
        sim.run(until=1_000.0)
        at, n = sim.now, 0
        for _ in range(bursts):
            at += float(rng.uniform(5_000, 40_000))
            for gap in (0.0, float(rng.integers(1, 13))):
                n += 1
                key = keys[int(rng.integers(len(keys)))]
                server.set_timer(at + gap - sim.now, "publish", (key, f"v: {n}"))
        stuck: list[str] = []

        def parked() -> bool:
            stuck.extend(f"{c} poll {r}" for c, r in server.stale_holds())
            return bool(stuck)

        if "race" in props and sim.run_until(parked, at + 60_000 - sim.now):
            more = " ..." if len(stuck) > 5 else ""
            trial.violate(f"Race: at t={sim.now:g} ms the server held {', '.join(stuck[:5])}{more} whose posted MD5 "
                          "is out of date: that client waits for a change that already happened (compare the "
                          "posted MD5s when a poll arrives)", sim.now)
        sim.run(until=at + 60_000)
        if "race" in props and not trial.violations:
            behind = [c.id for c in nodes if any(c.md5(k) != server.store.md5(k) for k in keys)]
            if behind:
                trial.violate(f"Race: 60 s after the last publish, {len(behind)} clients ({', '.join(behind[:5])}) "
                              "still had an older release", sim.now)
        if "changed_only" in props:
            problem = _changed_only(server)
            if problem:
                trial.violate(problem)

    return _run(trial, body, props)


def _never_parked(sim: Simulation) -> bool:
    server = sim.nodes["server"]
    assert isinstance(server, StudentLongPollServer)
    return not server.stale_holds()


def _bounded(sim: Simulation) -> bool:
    """Stop expanding once the client has sent 6 requests (each timeout makes a new poll)."""
    client = sim.nodes["c0"]
    assert isinstance(client, NacosClient)
    return client.rid > 6


def model_check_trial(long_poll: Fn, *, depth: int = 12, drops: int = 0, max_states: int = 60_000) -> Trial:
    """``race`` by model checking: one client, one key, two publishes (timers that may fire
    between any two steps), polls, fetches, hold timers and client timeouts in every order up
    to ``depth`` steps (with ``drops`` lost messages). The trial's seed is the model's, 0."""
    cls = server_class(long_poll)

    def make(seed: int) -> Simulation:
        sim = Simulation(seed=seed)
        server = cls("server", ("application.yaml",))
        server.log_replies = False
        sim.add_node(server)
        sim.add_node(NacosClient("c0", "server", ["application.yaml"]))
        server.set_timer(1, "publish", ("application.yaml", "v: 1"))
        server.set_timer(2, "publish", ("application.yaml", "v: 2"))
        return sim

    trial = Trial(0)

    def body() -> None:
        r = explore(make, {"race": _never_parked}, prunes=_bounded, max_depth=depth, max_drops=drops,
                    max_states=max_states)
        trial.trace = r.trace
        trial.facts.update(states=r.states, depth=r.depth, complete=r.complete)
        if r.violation is not None:
            steps = "; ".join(c.text for c in r.path)
            trial.violate(f"Race: a poll is held behind the latest release after {len(r.path)} steps "
                          f"(the shortest such schedule): {steps}", r.sim.now if r.sim is not None else None)

    return _run(trial, body)
