"""Basic Paxos: acceptors, proposers and learners deciding one value.

Lamport, "Paxos Made Simple" (SIGACT News 32(4), 2001):

* §2.2 Phase 1a/1b: a proposer picks a ballot ``n`` and sends ``Prepare(n)``; an acceptor
  whose promise is not higher promises never to accept a proposal below ``n`` and replies
  with the highest-numbered proposal it has accepted.
* §2.2 Phase 2a/2b: with promises from a majority, the proposer sends ``Accept(n, v)``,
  where ``v`` is the value of the highest-numbered proposal reported in the promises, or its
  own value if none was reported (rule P2c); an acceptor accepts unless it promised a higher
  number.
* §2.3 Learners count ``Accepted(n, v)`` from a majority of acceptors for the same ``n``.
* §2.4 Progress needs a distinguished proposer (see :mod:`.backoff`).

An acceptor's promise and vote are written to ``stable`` *before* it replies, so a crash
and recovery cannot make it break a promise (Paxos Made Simple §2.2, last paragraph;
Chandra et al., "Paxos Made Live", PODC 2007, §4: the disk is the acceptor's memory).
The proposer also persists its round, so a restarted proposer never reuses a ballot.

Two deliberately broken variants for the model checker: :class:`NoAdoptProposer` ignores
the values reported in promises (no P2c), :class:`ForgetfulAcceptor` keeps its promise
only in volatile memory, so a restart forgets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import allowed
from ..notebook import default_seed
from ..sim import Node, Simulation
from ..sim.cluster import Cluster
from ..sim.network import LinkModel
from .backoff import Backoff, as_backoff
from .messages import ZERO, Accept, Accepted, Ballot, Heartbeat, Nack, Prepare, Promise, Vote


def quorum(n: int) -> int:
    """The size of a majority of ``n`` acceptors."""
    return n // 2 + 1


class Acceptor(Node):
    """A Paxos acceptor (§2.2 Phases 1b and 2b); replies to the sender (``Nack`` only if
    ``nack``; ``Accepted`` only if ``reply_accepted``), and sends ``Accepted`` to the ``learners``.

    Durable state in ``stable``: ``promised`` (a :class:`Ballot`), ``accepted`` (the
    :class:`Vote` with the highest ballot, or None) and ``votes`` (every vote it ever cast,
    the ``votes`` of Lamport's TLA+ specification, which the omniscient :func:`chosen`
    oracle reads).
    """

    def __init__(self, id: str, *, learners: Sequence[str] = (), nack: bool = True,
                 reply_accepted: bool = True) -> None:
        super().__init__(id)
        self.learners = tuple(learners)
        self.nack = nack
        self.reply_accepted = reply_accepted

    def on_start(self) -> None:
        self.stable.setdefault("promised", ZERO)
        self.stable.setdefault("accepted", None)
        self.stable.setdefault("votes", ())

    def state(self) -> tuple[Any, ...]:
        """The model checker's view: everything that can change."""
        return (self.promised, self.stable.get("accepted"), self.stable.get("votes", ()))

    # the promise is kept in stable storage; ForgetfulAcceptor overrides these two
    @property
    def promised(self) -> Ballot:
        return self.stable.get("promised", ZERO)

    def promise(self, ballot: Ballot) -> None:
        self.stable["promised"] = ballot

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Prepare):
            if msg.ballot >= self.promised:          # >=: a duplicate Prepare gets the same answer
                self.promise(msg.ballot)             # persisted before replying
                self.send(src, Promise(msg.ballot, self.stable["accepted"]))
            elif self.nack:
                self.send(src, Nack(msg.ballot, self.promised))
        elif isinstance(msg, Accept):
            if msg.ballot >= self.promised:
                vote = Vote(msg.ballot, msg.value)
                self.promise(msg.ballot)
                self.stable["accepted"] = vote
                if vote not in self.stable["votes"]:
                    self.stable["votes"] = (*self.stable["votes"], vote)
                reply = Accepted(msg.ballot, msg.value)
                if self.reply_accepted:
                    self.send(src, reply)
                for learner in self.learners:
                    if learner != src:
                        self.send(learner, reply)
            elif self.nack:
                self.send(src, Nack(msg.ballot, self.promised))


class ForgetfulAcceptor(Acceptor):
    """BROKEN on purpose: keeps its promise in volatile memory, so a restart forgets it."""

    def __init__(self, id: str, **kwargs: Any) -> None:
        super().__init__(id, **kwargs)
        self._promised = ZERO

    @property
    def promised(self) -> Ballot:
        accepted = self.stable.get("accepted")
        return max(self._promised, accepted.ballot) if accepted else self._promised

    def promise(self, ballot: Ballot) -> None:
        self._promised = ballot


class Proposer(Node):
    """A Paxos proposer (§2.2 Phases 1a and 2a) that is also a distinguished learner of its
    own ballots (it counts ``Accepted``).

    ``value`` is what it proposes if P2c leaves it free; ``acceptors`` the acceptor ids.
    ``timeout`` (ms or None) abandons an attempt that has not succeeded; a ``Nack`` abandons
    it at once. After a failed attempt it retries per ``backoff`` (:mod:`.backoff`), at most
    ``max_rounds`` attempts in all (None: no limit). ``start_ms`` delays the first attempt.
    ``proposers`` lists every proposer (for the ``"leader"`` policy's heartbeats).
    """

    def __init__(self, id: str, value: Any, acceptors: Sequence[str], *,
                 timeout: float | None = None, backoff: Backoff | str = "none",
                 max_rounds: int | None = None, start_ms: float = 0.0,
                 proposers: Sequence[str] = (), heartbeat_ms: float = 10.0,
                 suspect_ms: float = 30.0) -> None:
        super().__init__(id)
        if not acceptors:
            raise allowed("acceptors", acceptors, "a non-empty list of acceptor ids")
        if max_rounds is not None and (isinstance(max_rounds, bool) or not isinstance(max_rounds, int)
                                       or max_rounds < 1):
            raise allowed("max_rounds", max_rounds, "None or an int >= 1")
        self.value = value
        self.stable.setdefault("value", value)       # the client's input, kept for validity checks
        self.acceptors = tuple(acceptors)
        self.quorum = quorum(len(self.acceptors))
        self.timeout = timeout
        self.backoff = as_backoff(backoff)
        self.max_rounds = max_rounds
        self.start_ms = start_ms
        self.proposers = tuple(proposers)
        self.heartbeat_ms, self.suspect_ms = heartbeat_ms, suspect_ms
        self.ballot: Ballot | None = None
        self.phase = "idle"                  # idle, prepare, accept, decided, waiting, done
        self.promises: dict[str, Vote | None] = {}
        self.accepts: frozenset[str] = frozenset()
        self.proposal: Any = None
        self.decided: Any = None
        self.attempts = 0
        self.failures = 0
        self.heard: dict[str, float] = {}

    def state(self) -> tuple[Any, ...]:
        """The model checker's view: everything that can change (heartbeat times excepted)."""
        return (self.stable.get("round"), self.ballot, self.phase,
                frozenset(self.promises.items()), self.accepts, self.proposal, self.decided,
                self.attempts, self.failures)

    # -- starting and retrying -------------------------------------------------------------
    def on_start(self) -> None:
        self.stable.setdefault("round", 0)
        if self.backoff.policy == "leader":
            self.started_at = self.now
            self._heartbeat()
        if self.start_ms > 0:
            self.set_timer(self.start_ms, "retry")
        else:
            self.attempt()

    def is_leader(self) -> bool:
        """Under the ``"leader"`` policy: no proposer with a smaller id was heard from lately
        (and, at start, none had the time to be heard from)."""
        if self.backoff.policy != "leader":
            return True
        for p in self.proposers:
            if p < self.id:
                last = self.heard.get(p, self.started_at)
                if self.now - last < self.suspect_ms:
                    return False
        return True

    def _heartbeat(self) -> None:
        for p in self.proposers:
            if p != self.id:
                self.send(p, Heartbeat(self.stable["round"]))
        self.set_timer(self.heartbeat_ms, "heartbeat")

    def attempt(self) -> None:
        """Phase 1a: a new ballot above every round seen, persisted, then ``Prepare`` to all."""
        if self.phase == "decided":
            return
        if not self.is_leader():
            self.phase = "waiting"
            self.set_timer(self.heartbeat_ms, "retry")
            return
        if self.max_rounds is not None and self.attempts >= self.max_rounds:
            self.phase = "done"
            return
        self.attempts += 1
        self.stable["round"] += 1
        self.ballot = Ballot(self.stable["round"], self.id)
        self.phase, self.promises, self.accepts = "prepare", {}, frozenset()
        for a in self.acceptors:
            self.send(a, Prepare(self.ballot))
        if self.timeout is not None:
            self.set_timer(self.timeout, "timeout", self.ballot.round)

    def fail(self) -> None:
        """Give up the current attempt and retry per the backoff policy."""
        self.failures += 1
        self.phase = "waiting"
        delay = self.backoff.delay(self.failures, self.rng)
        if delay > 0:
            self.set_timer(delay, "retry")
        else:
            self.attempt()

    def on_timer(self, name: str, payload: Any) -> None:
        if name == "retry" and self.phase in ("idle", "waiting"):
            self.attempt()
        elif name == "timeout" and self.ballot is not None and payload == self.ballot.round \
                and self.phase in ("prepare", "accept"):
            self.fail()
        elif name == "heartbeat":
            self._heartbeat()

    # -- the protocol ----------------------------------------------------------------------
    def choose_value(self) -> Any:
        """P2c: the value of the highest-numbered proposal among the promises, else our own."""
        votes = [v for v in self.promises.values() if v is not None]
        return max(votes).value if votes else self.value

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Heartbeat):
            self.heard[src] = self.now
            if msg.round > self.stable["round"]:
                self.stable["round"] = msg.round
            return
        if self.ballot is None or getattr(msg, "ballot", None) != self.ballot:
            return                                   # a reply to an older attempt
        if isinstance(msg, Promise) and self.phase == "prepare":
            self.promises[src] = msg.accepted
            if len(self.promises) >= self.quorum:    # distinct acceptors: duplicates don't count
                self.phase = "accept"
                self.proposal = self.choose_value()
                for a in self.acceptors:
                    self.send(a, Accept(self.ballot, self.proposal))
        elif isinstance(msg, Accepted) and self.phase == "accept":
            self.accepts = self.accepts | {src}
            if len(self.accepts) >= self.quorum:
                self.phase, self.decided = "decided", msg.value
                self.annotate(decided=msg.value)
        elif isinstance(msg, Nack) and self.phase in ("prepare", "accept"):
            if msg.promised.round > self.stable["round"]:
                self.stable["round"] = msg.promised.round
            self.fail()


class NoAdoptProposer(Proposer):
    """BROKEN on purpose: ignores the values reported in promises (no rule P2c)."""

    def choose_value(self) -> Any:
        return self.value


class Learner(Node):
    """Learns a value once a majority of acceptors report ``Accepted`` for one ballot (§2.3)."""

    def __init__(self, id: str, acceptors: Sequence[str]) -> None:
        super().__init__(id)
        self.quorum = quorum(len(acceptors))
        self.acceptors = frozenset(acceptors)
        self.votes: dict[Ballot, frozenset[str]] = {}
        self.learned: Any = None

    def state(self) -> tuple[Any, ...]:
        return frozenset(self.votes.items()), self.learned

    def on_message(self, src: str, msg: Any) -> None:
        if isinstance(msg, Accepted) and src in self.acceptors:
            voters = self.votes.get(msg.ballot, frozenset()) | {src}
            self.votes[msg.ballot] = voters
            if len(voters) >= self.quorum and self.learned is None:
                self.learned = msg.value
                self.annotate(learned=msg.value)


# -- the omniscient oracle -----------------------------------------------------------------
def acceptors_of(sim: Simulation) -> list[Node]:
    """The simulation's acceptor nodes (instances of :class:`Acceptor`)."""
    return [n for n in sim.nodes.values() if isinstance(n, Acceptor)]


def chosen_from_votes(votes: dict[str, Iterable[Vote]], n_acceptors: int) -> set[Any]:
    """Values chosen by ``votes`` (acceptor -> its votes): a value is chosen when a majority
    of the acceptors voted for the same ballot (§2.1; ``chosen`` in Lamport's Paxos.tla)."""
    count: dict[Vote, int] = {}
    for vs in votes.values():
        for vote in set(vs):
            count[vote] = count.get(vote, 0) + 1
    need = quorum(n_acceptors)
    return {vote.value for vote, c in count.items() if c >= need}


def chosen(sim: Simulation) -> set[Any]:
    """Every value chosen so far in ``sim`` (from the acceptors' durable vote records)."""
    accs = acceptors_of(sim)
    return chosen_from_votes({a.id: a.stable.get("votes", ()) for a in accs}, len(accs))


def agreement(sim: Simulation) -> bool:
    """Safety: at most one value is chosen."""
    return len(chosen(sim)) <= 1


def validity(sim: Simulation) -> bool:
    """Safety: every chosen value was proposed by some proposer."""
    proposed = {n.stable["value"] for n in sim.nodes.values() if isinstance(n, Proposer)}
    return chosen(sim) <= proposed


def simulation(*, acceptors: int = 3, proposers: int = 2, learners: int = 0, seed: int | None = None,
               network: LinkModel | None = None, proposer_cls: type[Proposer] = Proposer,
               acceptor_cls: type[Acceptor] = Acceptor, values: Sequence[Any] | None = None,
               nack: bool = True, reply_accepted: bool = True, stagger_ms: float = 0.0,
               **proposer_kwargs: Any) -> Simulation:
    """A Basic Paxos system as a bare :class:`Simulation` (what the model checker and the
    debugger drive): acceptors ``a1..``, proposers ``p1..`` proposing ``values`` (default
    ``"v1"``, ``"v2"``, ...), learners ``l1..``; proposer ``p(i+1)`` starts ``i * stagger_ms``
    ms after ``p1``. Extra keywords go to the proposers (``timeout``, ``backoff``,
    ``max_rounds``); ``nack`` and ``reply_accepted`` to the acceptors. :func:`cluster` wraps
    the same system with its checks."""
    for name, n, low in (("acceptors", acceptors, 1), ("proposers", proposers, 1), ("learners", learners, 0)):
        if isinstance(n, bool) or not isinstance(n, int) or not low <= n <= 9:
            raise allowed(name, n, f"an int from {low} to 9")
    a_ids = [f"a{i}" for i in range(1, acceptors + 1)]
    p_ids = [f"p{i}" for i in range(1, proposers + 1)]
    l_ids = [f"l{i}" for i in range(1, learners + 1)]
    if values is None:
        values = [f"v{i}" for i in range(1, proposers + 1)]
    if len(values) != proposers:
        raise allowed("values", values, f"{proposers} values, one per proposer")
    sim = Simulation(seed=default_seed(seed), network=network)
    for a in a_ids:
        sim.add_node(acceptor_cls(a, learners=l_ids, nack=nack, reply_accepted=reply_accepted))
    for i, (p, v) in enumerate(zip(p_ids, values, strict=True)):
        sim.add_node(proposer_cls(p, v, a_ids, proposers=p_ids, start_ms=i * stagger_ms,
                                  **proposer_kwargs))
    for lid in l_ids:
        sim.add_node(Learner(lid, a_ids))
    return sim


class PaxosCluster(Cluster):
    """A Basic Paxos system built by :func:`cluster`: ``sim``, ``nodes``, the role lists
    ``acceptors``, ``proposers``, ``learners`` (ids), and the chapter's checks."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim, sim.nodes)
        self.acceptors = [n.id for n in sim.nodes.values() if isinstance(n, Acceptor)]
        self.proposers = [n.id for n in sim.nodes.values() if isinstance(n, Proposer)]
        self.learners = [n.id for n in sim.nodes.values() if isinstance(n, Learner)]

    def __repr__(self) -> str:
        return (f"<PaxosCluster {len(self.acceptors)} acceptors, {len(self.proposers)} proposers "
                f"t={self.sim.now:g} ms chosen={sorted(map(str, self.chosen()))}>")

    def chosen(self) -> set[Any]:
        """The values chosen so far (the omniscient oracle :func:`chosen`)."""
        return chosen(self.sim)

    def agreement(self) -> bool:
        """Safety: at most one value is chosen (:func:`agreement`)."""
        return agreement(self.sim)

    def validity(self) -> bool:
        """Safety: every chosen value was proposed (:func:`validity`)."""
        return validity(self.sim)

    def safe(self) -> bool:
        """Agreement and validity both hold."""
        return agreement(self.sim) and validity(self.sim)


def cluster(**options: Any) -> PaxosCluster:
    """A ready Basic Paxos cluster: ``ds.paxos.cluster(proposers=1, seed=5).run(until=20).chosen()``.

    Takes the keywords of :func:`simulation` (``acceptors``, ``proposers``, ``learners``,
    ``seed``, ``network``, ``values``, ...)."""
    return PaxosCluster(simulation(**options))
