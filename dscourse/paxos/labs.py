"""Chapter 5's widgets: the Paxos message debugger and the livelock meter (``ds.paxos.labs``,
loaded on first use; ``ds.paxos.debugger`` and ``ds.paxos.livelock_meter`` are these).

* :class:`PaxosDebugger` -- the message debugger (:class:`~dscourse.viz.debugger.Debugger`)
  with an omniscient banner that says whether a value is chosen (from the acceptors' votes,
  :func:`dscourse.paxos.chosen`), a state card per node, and the preloaded scenarios of
  :mod:`dscourse.paxos.scenarios`. Its static figure: the space-time diagram, the banner and
  the cards.
* :func:`livelock_meter` -- a :class:`~dscourse.viz.lab.Lab` with a backoff dropdown; the
  figure is the histogram of decision times over many seeds (undecided runs in the last bar),
  under the oblivious adversary of :mod:`.livelock` by default.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from ..checkers.explore import RESTART
from ..viz import Debugger, Lab, spacetime
from ..viz.display import new_figure
from .backoff import POLICIES
from .basic import Acceptor, Learner, Proposer, chosen
from .livelock import decision_times
from .scenarios import SCENARIOS, crash, recover, scenario


def banner(sim: Any) -> str:
    """The omniscient verdict: nothing chosen, one value chosen, or agreement broken."""
    values = sorted(map(str, chosen(sim)))
    if not values:
        return "chosen? nothing yet"
    if len(values) == 1:
        return f"chosen: {values[0]}"
    return f"AGREEMENT VIOLATED: {' and '.join(values)} both chosen"


def cards(sim: Any) -> list[str]:
    """One line per node: an acceptor's promise and every vote it cast (a value is chosen by
    votes, even if a later vote replaced it), a proposer's ballot and phase."""
    lines = []
    for nid, node in sim.nodes.items():
        status = sim.status(nid)
        if status == "crashed":
            lines.append(f"{nid}: crashed (stable: {_stable(node)})")
        elif isinstance(node, Acceptor):
            votes = ", ".join(f"{v.value}@{v.ballot}" for v in node.stable.get("votes", ())) or "-"
            lines.append(f"{nid}: promised {node.promised}; votes {votes}")
        elif isinstance(node, Proposer):
            extra = f", proposing {node.proposal}" if node.phase in ("accept", "decided") else ""
            lines.append(f"{nid}: ballot {node.ballot or '-'}, {node.phase}{extra}")
        elif isinstance(node, Learner):
            lines.append(f"{nid}: learned {node.learned if node.learned is not None else '-'}")
    return lines


def _stable(node: Any) -> str:
    vote = node.stable.get("accepted")
    parts = []
    if "promised" in node.stable:
        parts.append(f"promised {node.stable['promised']}")
    if vote:
        parts.append(f"accepted {vote.value}@{vote.ballot}")
    if "round" in node.stable:
        parts.append(f"round {node.stable['round']}")
    return ", ".join(parts) or "-"


class PaxosDebugger(Debugger):
    """The message debugger for Basic Paxos (see module docstring). ``crash``, ``recover`` and
    ``restart`` are actions (``debugger.do("crash", "p1")``)."""

    note = ""

    def __init__(self, make_sim: Any, **kwargs: Any) -> None:
        kwargs.setdefault("views", ("spacetime",))
        super().__init__(make_sim, **kwargs)
        self.add_action("crash", crash, button=False)
        self.add_action("recover", recover, button=False)
        self.add_action(*RESTART, button=False)

    @classmethod
    def scenario(cls, name: str = "free", seed: int = 0, **kwargs: Any) -> PaxosDebugger:
        """A debugger preloaded with scenario ``name`` (:data:`SCENARIOS`)."""
        sc = scenario(name, seed)
        dbg = cls(sc.make_sim, seed=seed, **kwargs)
        dbg.note = sc.note
        dbg.replay(sc.ops)
        return dbg

    def banner(self) -> str:
        return banner(self.sim)

    def cards(self) -> list[str]:
        return cards(self.sim)

    def summary(self) -> str:
        return f"{self.banner()}  |  t={self.now:g} ms, {len(self.pending())} pending"

    def figure(self) -> Figure:
        lines = self.cards()
        nodes = list(self.sim.nodes)
        head = 0.45 + 0.19 * len(lines)
        body = 0.7 + 0.42 * len(nodes)
        height = head + body + 0.2
        fig = new_figure((8.0, height))
        ax = fig.add_axes((0.08, 0.55 / height, 0.7, (body - 0.45) / height))
        spacetime(self.visible_events(), nodes=nodes, ax=ax, legend=True)
        verdict = self.banner()
        color = ("#b00020" if verdict.startswith("AGREEMENT") else
                 "#1b5e20" if verdict.startswith("chosen:") else "#444444")
        fig.text(0.02, 1 - 0.3 / height, verdict, fontsize=11, fontweight="bold", color=color)
        for i, line in enumerate(lines):
            fig.text(0.03, 1 - (0.55 + 0.19 * i) / height, line, fontsize=8, family="monospace")
        return fig

    def _extra_controls(self) -> list[Any]:
        import ipywidgets as w

        self._widgets["banner"] = w.HTML()
        self._widgets["cards"] = w.HTML()
        return [self._widgets["banner"], self._widgets["cards"], *super()._extra_controls()]

    def _refresh_extra(self) -> None:
        super()._refresh_extra()
        W = self._widgets
        if "banner" in W:
            W["banner"].value = f"<b>{self.banner()}</b>"
            W["cards"].value = "<pre>" + "\n".join(self.cards()) + "</pre>"


def debugger(scenario: str = "free", **kwargs: Any) -> PaxosDebugger:
    """The Paxos message debugger preloaded with ``scenario`` (``ds.paxos.debugger("duel")``)."""
    return PaxosDebugger.scenario(scenario, **kwargs)


# -- the livelock meter -------------------------------------------------------------------
def livelock_figure(backoff: str = "none", seeds: int = 200, horizon_ms: float = 1000.0,
                    deadline_ms: float = 500.0, times: list[float | None] | None = None,
                    schedule: str = "oblivious") -> Figure:
    """Histogram of decision times over ``seeds`` duels with one backoff policy under
    ``schedule`` (runs with no decision by ``horizon_ms`` form the red bar); ``times`` reuses
    computed decision times."""
    if times is None:
        times = decision_times(backoff, range(seeds), horizon_ms=horizon_ms, schedule=schedule)
    decided = [t for t in times if t is not None]
    fig = new_figure((6.5, 2.8))
    ax = fig.subplots()
    top = max(decided) if decided else deadline_ms
    width = top / 25
    ax.hist(decided, bins=[i * width for i in range(26)], color="#4c72b0", label="decided")
    undecided = len(times) - len(decided)
    if undecided:
        ax.bar(top + 1.5 * width, undecided, width=width, color="#b00020",
               label=f"no decision in {horizon_ms:g} ms")
    if deadline_ms <= top:
        ax.axvline(deadline_ms, color="#888888", linestyle="--", linewidth=1)
    within = sum(1 for t in decided if t <= deadline_ms)
    ax.set_title(f"backoff={backoff!r}: {within}/{len(times)} seeds decide within {deadline_ms:g} ms",
                 fontsize=10)
    ax.set_xlabel("virtual time of the decision (ms)")
    ax.set_ylabel("seeds")
    ax.legend(fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.2, left=0.12, right=0.97)
    return fig


def livelock_meter(backoff: str = "random", seeds: int = 200, horizon_ms: float = 1000.0,
                   schedule: str = "oblivious") -> Lab:
    """The livelock meter: a backoff dropdown over :func:`livelock_figure` (results cached
    per policy; a policy that never decides runs every seed to ``horizon_ms``, so it is slow)."""
    cache: dict[str, list[float | None]] = {}

    def times(policy: str) -> list[float | None]:
        if policy not in cache:
            cache[policy] = decision_times(policy, range(seeds), horizon_ms=horizon_ms,
                                           schedule=schedule)
        return cache[policy]

    def describe(backoff: str) -> str:
        ts = times(backoff)
        within = sum(1 for t in ts if t is not None and t <= 500)
        return (f"livelock meter ({schedule}), backoff={backoff}: {within}/{seeds} seeds decide within 500 ms, "
                f"{sum(t is None for t in ts)} not within {horizon_ms:g} ms")

    def render(backoff: str) -> Figure:
        return livelock_figure(backoff, seeds, horizon_ms, times=times(backoff), schedule=schedule)

    return Lab(render, describe=describe, initial={"backoff": backoff}, backoff=list(POLICIES))


__all__ = ["SCENARIOS", "PaxosDebugger", "banner", "cards", "debugger", "livelock_figure", "livelock_meter"]
