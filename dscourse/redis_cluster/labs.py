"""Chapter 4's Redis Cluster failure-detector view (a ``ds.viz.Lab``, with its static figure).

Six masters with one replica each. Choose a fault (crash a master, or cut off a minority),
NODE_TIMEOUT and how long after the fault to look: the left panel is every node's view of
every other node (ok / PFAIL / FAIL), the right panel the failure reports one observer holds
about the victim, each bar the report's remaining validity (2 × NODE_TIMEOUT minus its age).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..errors import allowed
from ..viz import Lab
from ..viz.display import new_figure
from .cluster import Cluster, cluster
from .node import FAIL_REPORT_VALIDITY_MULT

FAULTS = {"crash m2": ("crash", "m2"), "partition m0 m1 r0": ("partition", "m0")}
CODES = {"ok": 0, "PFAIL": 1, "FAIL": 2, "unknown": 3, "-": 4, "down": 5}
COLORS = ListedColormap(["#9bd39b", "#ffb347", "#e45756", "#dddddd", "#ffffff", "#888888"])


@lru_cache(maxsize=64)
def detector_run(fault: str = "crash m2", node_timeout: int = 1000, after_ms: int = 2000, seed: int = 1) -> Cluster:
    """A settled 6+6 cluster, the fault at 3 s, then ``after_ms`` more of virtual time."""
    if fault not in FAULTS:
        raise allowed("fault", fault, f"one of {', '.join(FAULTS)}")
    c = cluster(masters=6, replicas=1, node_timeout=float(node_timeout), seed=seed)
    if fault.startswith("crash"):
        c.crash("m2")
    else:
        minority = ["m0", "m1", "r0"]
        c.partition(minority, [n for n in c.nodes if n not in minority])
    c.run(until=c.sim.now + after_ms)
    return c


def detector_figure(fault: str = "crash m2", node_timeout: int = 1000, after_ms: int = 2000,
                    observer: str = "m0", seed: int = 1) -> Figure:
    c = detector_run(fault, node_timeout, after_ms, seed)
    names = list(c.nodes)
    if observer not in names:
        raise allowed("observer", observer, f"one of {', '.join(names)}")
    up = set(c.up())
    grid = np.array([[CODES["-"] if a == o else CODES["down"] if o not in up else CODES[c.view(o, a)]
                      for a in names] for o in names])
    fig = new_figure(figsize=(9.5, 3.8))
    ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    ax.imshow(grid, cmap=COLORS, vmin=0, vmax=5)
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("about")
    ax.set_ylabel("observer")
    ax.set_title(f"{fault}, NODE_TIMEOUT={node_timeout} ms, +{after_ms} ms\n"
                 "green ok · orange PFAIL · red FAIL · grey crashed", fontsize=8)
    victim = "m2" if fault.startswith("crash") else "m3"
    node = c.nodes[observer]
    validity = node_timeout * FAIL_REPORT_VALIDITY_MULT
    if observer in up and victim in node.views:
        reports = node.valid_reports(victim)
    else:
        reports = {}
    who = sorted(reports)
    left = [validity - (c.sim.now - reports[r]) for r in who]
    bars.barh(range(len(who)), left, color="#e45756")
    bars.set_yticks(range(len(who)), who, fontsize=8)
    bars.set_xlim(0, validity)
    bars.set_xlabel("remaining validity of the report (ms)")
    need = node.quorum() if observer in up else 0
    mine = 1 if observer in up and node.role == "master" else 0
    bars.set_title(f"{observer}'s failure reports about {victim}: {len(who)} (+{mine} itself), "
                   f"majority {need}", fontsize=8)
    fig.tight_layout()
    return fig


def describe(fault: str, node_timeout: int, after_ms: int, observer: str) -> str:
    c = detector_run(fault, node_timeout, after_ms)
    victim = "m2" if fault.startswith("crash") else "m3"
    views = [c.view(o, victim) for o in c.up() if o != victim]
    return (f"{fault}: {views.count('FAIL')} of {len(views)} running nodes flag {victim} FAIL, "
            f"{views.count('PFAIL')} PFAIL, {views.count('ok')} ok")


def failure_detector(fault: str = "crash m2", node_timeout: int = 1000, after_ms: int = 2000,
                     observer: str = "m0") -> Lab:
    """The Redis Cluster failure-detector view (module docstring)."""
    names = [f"m{i}" for i in range(6)] + [f"r{i}" for i in range(6)]
    return Lab(lambda **v: detector_figure(**v), describe=describe, title="Redis failure detector",
               initial={"fault": fault, "node_timeout": node_timeout, "after_ms": after_ms, "observer": observer},
               fault=list(FAULTS), node_timeout=(500, 3000, 250), after_ms=(0, 6000, 250), observer=names)
