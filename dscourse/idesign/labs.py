"""Chapter 11's labs and static figures: the coupon forge, the trace tree and short-URL
adjacency. Deterministic: keys are fixed strings, randomness comes from named streams."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..sim.rng import stream
from ..viz.display import new_figure
from .callgraph import call_graph, reconstruct
from .coupon import ALPHABET, CouponCodec, forgery_probability
from .shorturl import ShortUrlService, shared_prefix_rate

LAB_KEY = b"dscourse-demo-key"


# -- coupon forge ----------------------------------------------------------------------------
def forge(check_bits: int = 13, guesses: int = 20_000, seed: int = 1) -> dict[str, Any]:
    """Random well-formed guesses and single-character tampering against a codec."""
    codec = CouponCodec(LAB_KEY, check_bits=check_bits)
    rng = stream(seed, "coupon-forge")
    hits = 0
    for v in rng.integers(0, 2 ** codec.total_bits, guesses, dtype=np.int64).tolist():
        hits += codec.is_valid("".join(ALPHABET[(v // 60 ** i) % 60] for i in reversed(range(10))))
    genuine = [codec.encode(10_001, s) for s in range(200)]
    tampered = accepted = 0
    for code in genuine:
        for pos in range(10):
            c = ALPHABET[(ALPHABET.index(code[pos]) + 1 + int(rng.integers(59))) % 60]
            tampered += 1
            accepted += codec.is_valid(code[:pos] + c + code[pos + 1:])
    return {"codec": codec, "hits": hits, "guesses": guesses, "tampered": tampered,
            "accepted": accepted, "samples": genuine[:4]}


def forge_figure(check_bits: int = 13) -> Figure:
    res = forge(check_bits)
    fig = new_figure((8, 2.8))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    bits = np.arange(1, 15)
    ax.semilogy(bits, [forgery_probability(int(b)) for b in bits], color="#1f77b4",
                label="$2^{-bits}$ per guess")
    measured = max(res["hits"], 0.5) / res["guesses"]
    ax.semilogy([check_bits], [measured], "o", color="#d62728",
                label=f"measured: {res['hits']}/{res['guesses']} guesses")
    ax.set_xlabel("check bits")
    ax.set_ylabel("P(random code accepted)")
    ax.set_title("forgery probability", fontsize=10)
    ax.legend(fontsize=7)
    bx.axis("off")
    codec = res["codec"]
    lines = [f"{c}  ->  scheme {codec.decode(c).scheme}, serial {codec.decode(c).serial}"
             for c in res["samples"]]
    bad = res["samples"][0][:4] + ("x" if res["samples"][0][4] != "x" else "y") + res["samples"][0][5:]
    lines.append(f"{bad}  ->  {'ACCEPTED' if codec.is_valid(bad) else 'rejected'} (one char changed)")
    bx.text(0, 0.95, "\n".join(lines), family="monospace", fontsize=8, va="top")
    bx.text(0, 0.1, f"expected guesses per forgery: {2 ** check_bits:,}", fontsize=9)
    fig.tight_layout()
    return fig


def forge_summary(check_bits: int = 13) -> str:
    res = forge(check_bits)
    return (f"{check_bits} check bits: P(forge) = 1/{2 ** check_bits}; {res['hits']} of "
            f"{res['guesses']} random well-formed codes accepted; {res['accepted']} of "
            f"{res['tampered']} single-character tamperings accepted")


def coupon_forge(check_bits: int = 13) -> Any:
    """The coupon forge: vary the check-code width and watch forgeries get through."""
    from ..viz import Lab

    return Lab(forge_figure, check_bits=(2, 14, 1), initial={"check_bits": check_bits},
               describe=forge_summary, title="Coupon forge")


# -- trace tree ------------------------------------------------------------------------------
def trace_tree_figure(requests: int = 2, seed: int = 1) -> Figure:
    """Left: interleaved log lines as they were written. Right: the tree rebuilt from span ids."""
    _, log = call_graph(requests=requests, seed=seed)
    trees = reconstruct(log)
    fig = new_figure((8, 3.2))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    ax.axis("off")
    shown = [f"{ln.time:5.1f} {ln.service} {ln.trace_id[-8:]} {ln.span_id:<6} {ln.kind}" for ln in log[:16]]
    ax.text(0, 1, "time svc trace(end) span kind\n" + "\n".join(shown), family="monospace",
            fontsize=7, va="top")
    ax.set_title(f"log: {len(log)} lines from {len(trees)} traces (first 16)", fontsize=9)
    spans = next(iter(trees.values()))
    depth_x: dict[int, float] = {}
    pos: dict[str, tuple[float, float]] = {}
    for span in sorted(spans, key=lambda s: tuple(int(p) for p in s.split("."))):
        d = span.count(".")
        pos[span] = (depth_x.setdefault(d, 0.0), -d)
        depth_x[d] += 1
    for d in depth_x:  # centre each level
        row = [s for s in pos if pos[s][1] == -d]
        for i, s in enumerate(row):
            pos[s] = (i - (len(row) - 1) / 2, -d)
    for span, (x, y) in pos.items():
        parent = span.rsplit(".", 1)[0] if "." in span else None
        if parent in pos:
            px, py = pos[parent]
            bx.plot([px, x], [py, y], color="#7f7f7f", lw=1, zorder=1)
        bx.scatter([x], [y], s=500, color="#9ecae1", zorder=2)
        bx.text(x, y, f"{spans[span]}\n{span}", ha="center", va="center", fontsize=8, zorder=3)
    bx.set_xlim(-2, 2)
    bx.set_ylim(-2.6, 0.6)
    bx.axis("off")
    bx.set_title("one trace, rebuilt from span ids", fontsize=9)
    fig.tight_layout()
    return fig


def trace_tree_summary(requests: int = 2, seed: int = 1) -> str:
    _, log = call_graph(requests=requests, seed=seed)
    trees = reconstruct(log)
    return (f"{len(log)} log lines, {len(trees)} traces; each tree: "
            + ", ".join(f"{k}={v}" for k, v in next(iter(trees.values())).items()))


def trace_tree(requests: int = 2, seed: int = 1) -> Any:
    """The trace tree: requests through A -> B, C, D; C -> E, F, rebuilt from logs."""
    from ..viz import Lab

    return Lab(trace_tree_figure, requests=(1, 5, 1), seed=(1, 20, 1),
               initial={"requests": requests, "seed": seed}, describe=trace_tree_summary,
               title="Trace tree")


# -- short-URL adjacency ---------------------------------------------------------------------
def adjacency_figure(scramble: bool = True, start: int = 100_000, count: int = 12) -> Figure:
    svc = ShortUrlService(LAB_KEY, scramble=scramble)
    codes = [svc.encode_id(start + i) for i in range(count)]
    fig = new_figure((8, 2.9))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    ax.axis("off")
    ax.text(0, 1, "id        code\n" + "\n".join(f"{start + i:<9d} {c}" for i, c in enumerate(codes)),
            family="monospace", fontsize=8, va="top")
    ax.set_title("scrambled" if scramble else "plain base 62", fontsize=10)
    many = [svc.encode_id(start + i) for i in range(500)]
    same = np.array([[a[k] == b[k] for k in range(7)] for a, b in pairwise(many)], dtype=float)
    bars = bx.bar(range(1, 8), same.mean(axis=0), color="#1f77b4")
    bx.bar_label(bars, fmt="%.2f", fontsize=7)
    bx.set_ylim(0, 1.15)
    bx.set_xlabel("character position")
    bx.set_ylabel("P(same as next id's)")
    bx.set_title("neighbouring ids, 500 consecutive", fontsize=10)
    fig.tight_layout()
    return fig


def adjacency_summary(scramble: bool = True, start: int = 100_000, count: int = 12) -> str:
    svc = ShortUrlService(LAB_KEY, scramble=scramble)
    many = [svc.encode_id(start + i) for i in range(500)]
    return (f"{'scrambled' if scramble else 'plain'}: {shared_prefix_rate(many):.1%} of consecutive "
            f"codes share a 4-character prefix; {len(set(many))} distinct codes of 500")


def short_url_adjacency(scramble: bool = True) -> Any:
    """Encode consecutive ids with and without the keyed scrambler."""
    from ..viz import Lab

    return Lab(adjacency_figure, scramble=True, start=(0, 1_000_000, 1000), count=(4, 16, 1),
               initial={"scramble": scramble, "start": 100_000, "count": 12},
               describe=adjacency_summary, title="Short-URL adjacency")


__all__ = ["adjacency_figure", "coupon_forge", "forge", "forge_figure",
           "short_url_adjacency", "trace_tree", "trace_tree_figure"]
