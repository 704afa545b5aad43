"""Children built without the kernel (``explore_compact.Machine.derive``): a pure step whose
effect was recorded once is replayed on another parent from that record. With
``Machine.verify_derived`` every such child is also built by running the step, and the two
are compared field by field; the engines still agree on counts and counterexamples; with the
record blinded (no FIFO ``last``, no seq shift) the check catches it."""

from __future__ import annotations

import pytest
from test_engines import both
from test_memo import Echo

import dscourse as ds
from dscourse.checkers import explore as ex
from dscourse.checkers import explore_compact as C
from dscourse.paxos import messages
from dscourse.paxos import modelcheck as M

SEARCHES = [
    ("correct", dict(max_depth=9)),
    ("correct", dict(max_drops=1, max_depth=8)),
    ("correct", dict(max_duplicates=1, max_depth=8)),
    ("no-adopt", {}),
    ("forgetful", dict(max_depth=9)),
    ("correct", dict(symmetry=[("a1", "a2", "a3")], max_depth=11)),
    ("correct", dict(mode="dfs", max_depth=9)),
]


@pytest.fixture
def derived(monkeypatch):
    """Every derived child checked against the real one; returns the count of derivations."""
    n = [0, 0]                      # derivations, of which restarts
    real = C._verify

    def verify(m, st, i, *rest):
        n[0] += 1
        n[1] += i is None
        real(m, st, i, *rest)

    monkeypatch.setattr(C.Machine, "verify_derived", True)
    monkeypatch.setattr(C, "_verify", verify)
    return n


@pytest.mark.parametrize("variant, kw", SEARCHES)
def test_derived_children_are_the_real_ones(variant, kw, derived):
    r = M.check(variant, **kw)
    assert r.states > 100
    assert derived[0] > 50          # the path under test was taken


@pytest.mark.parametrize("variant, kw", [s for s in SEARCHES if "symmetry" not in s[1]
                                         and "mode" not in s[1]])
def test_engines_agree_with_derived_children(variant, kw):
    both(M.Variant(variant), M.INVARIANTS, **{"max_depth": 40, **kw})


@pytest.mark.parametrize("kw", [{}, dict(max_drops=1), dict(max_duplicates=1)])
def test_pure_echoes_agree_on_fifo_and_plain_links(kw, derived):
    for net in (ds.sim.network.reliable(), ds.sim.network.Network(latency=2.0, fifo=False)):
        def make(seed, net=net):
            sim = ds.sim.Simulation(seed=seed, network=net)
            for n in ("p", "q", "w"):
                sim.add_node(Echo(n, "pure"))
            return sim
        both(make, {"few echoes": ex.on_nodes(lambda s: s.nodes["p"].count < 3)}, max_depth=12, **kw)
    assert derived[0] > 0


def test_forgetful_restarts_are_derived(derived):
    r = M.check("forgetful", max_depth=9)
    assert r.states > 100
    assert derived[1] > 50          # restarts among the derived children


class Rejoiner(ds.sim.Node):
    """``p`` greets ``q``; a restarted node counts its lives in ``stable`` (mod 2) and tells
    the other it is back -- only that (``"pure"``), or also noting the clock (``"clock"``) or
    setting a timer (``"timer"``); a node counts the greetings and timers it gets."""

    def __init__(self, id, mode="pure"):
        super().__init__(id)
        self.mode = mode
        self.heard = 0

    def on_start(self):
        self.stable.setdefault("lives", 0)
        if self.id == "p":
            self.send("q", "hi")

    def on_recover(self):
        self.stable["lives"] = (self.stable["lives"] + 1) % 2
        if self.mode == "clock":
            self.heard = -int(self.now)
        elif self.mode == "timer":
            self.set_timer(1, "t")
        self.send("q" if self.id == "p" else "p", ("back", self.stable["lives"]))

    def on_message(self, src, msg):
        self.heard += 1

    def on_timer(self, name, payload):
        self.heard += 1


@pytest.mark.parametrize("mode", ["pure", "clock", "timer"])
def test_restarts_agree_on_fifo_and_plain_links(mode, derived):
    for net in (ds.sim.network.reliable(), ds.sim.network.Network(latency=2.0, fifo=False)):
        def make(seed, net=net):
            sim = ds.sim.Simulation(seed=seed, network=net)
            for n in ("p", "q"):
                sim.add_node(Rejoiner(n, mode))
            return sim
        both(make, {"few": ex.on_nodes(lambda s: s.nodes["q"].heard < 4)}, max_depth=10,
             max_restarts=3, restartable=("p", "q"))
    if mode == "pure":
        assert derived[1] > 0
    else:                           # read the clock, or left a timer that a crash cancels
        assert derived[1] == 0


@pytest.mark.parametrize("blind", ["moved", "shift"])
def test_a_blinded_record_is_caught(blind, derived, monkeypatch):
    if blind == "moved":     # FIFO links' delivery times not carried over
        monkeypatch.setattr(C, "_moved", lambda *args: ())
    else:                    # the step's send ids not moved to the new parent's seqs
        monkeypatch.setattr(C, "_shift", lambda x, lo, hi, by: x)
    with pytest.raises(AssertionError, match="derived child differs"):
        M.check("correct", max_depth=9)


def test_a_new_link_is_not_a_draw_a_refill_is():
    buf, other = [0.5], [0.25]
    assert not C._drawn((("b", 7, [], 0),), ())                    # made, pristine
    assert not C._drawn((("b", 9, buf, 1),), (("b", 7, buf, 1),))   # only its last moved
    assert C._drawn((("b", 7, other, 0),), (("b", 7, buf, 0),))     # refilled
    assert C._drawn((("b", 7, buf, 2),), (("b", 7, buf, 1),))       # read on
    assert C._drawn((("b", 7, buf, 0),), ())                        # made and drawn from


def test_mentions_sees_into_named_tuples():
    ballot = messages.Ballot(3, "p1")
    assert C.mentions({"b": ballot}, 3, 4)
    assert not C.mentions({"b": ballot}, 7, 9)
    assert C.mentions((messages.Vote(ballot, "v"),), 3, 5)


def test_derive_used_on_the_complete_search_saves_handler_runs(monkeypatch):
    fired = [0]
    real = C.Machine.fire

    def fire(self, i):
        fired[0] += 1
        return real(self, i)

    monkeypatch.setattr(C.Machine, "fire", fire)
    r = ex.explore(M.Variant("correct"), M.INVARIANTS, max_depth=40)
    assert r.exhausted and r.states == 30302
    assert fired[0] < r.states / 5          # most children are derived, not run
