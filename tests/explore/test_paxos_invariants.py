"""``modelcheck.invariants()``: the per-search Paxos invariants, sharing the chosen values
between agreement and validity, judge every state as ``basic.agreement`` and
``basic.validity`` do (states with a value chosen, two values chosen, and after restarts)."""

from __future__ import annotations

import pytest

from dscourse.checkers import explore as ex
from dscourse.paxos import basic
from dscourse.paxos import modelcheck as M


@pytest.mark.parametrize("variant", list(M.VARIANTS))
def test_shared_chosen_judges_as_basic(variant):
    inv = M.invariants()
    assert list(inv) == list(M.INVARIANTS)
    verdicts = set()

    def same(sim):
        mine = (inv["agreement"](sim), inv["validity"](sim))
        theirs = (basic.agreement(sim), basic.validity(sim))
        verdicts.add((theirs, len(basic.chosen(sim))))
        return mine == theirs

    restarts = 1 if variant == "forgetful" else 0      # (as modelcheck.check; depths as its bugs')
    r = ex.explore(M.Variant(variant), {"same": ex.on_nodes(same)}, max_depth=13,
                   max_restarts=restarts, restartable=("a1", "a2", "a3"))
    assert r.violation is None
    assert {n for _, n in verdicts} >= {0, 1}                 # nothing chosen, one value chosen
    if variant != "correct":
        assert ((False, True), 2) in verdicts                  # two values chosen: judged broken


def test_each_search_has_its_own_cache():
    a, b = M.invariants(), M.invariants()
    assert a["agreement"] is not b["agreement"]
    assert M.check("no-adopt").violation == "agreement"
