"""Chapter 13's figures and widgets: the request's path, the limiter scope, the breaker
timeline, the canary split. Each widget has a static figure beside it."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from ..viz.display import new_figure
from ..viz.lab import Lab
from .breaker import CLOSED, HALF_OPEN, OPEN
from .experiments import breaker_run, canary_run, limiter_run, per_second

STAGES = ("client", "handler mapping\n(predicates)", "pre filters\n(route + global)", "proxy\n(lb://)",
          "upstream", "post filters\n(reverse order)", "client")


def request_path_figure() -> Figure:
    """SCG's workflow: predicates pick a route, pre filters, the proxied call, post filters."""
    from matplotlib.patches import FancyBboxPatch
    fig = new_figure(figsize=(10, 1.5))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, len(STAGES))
    ax.set_ylim(0, 1)
    ax.axis("off")
    for i, name in enumerate(STAGES):
        color = "#d9f0d3" if i == 4 else ("#eeeeee" if i in (0, 6) else "#dbe9f6")
        ax.add_patch(FancyBboxPatch((i + 0.06, 0.2), 0.88, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=color, edgecolor="#555555"))
        ax.text(i + 0.5, 0.5, name, ha="center", va="center", fontsize=8)
        if i:
            ax.annotate("", xy=(i + 0.06, 0.5), xytext=(i - 0.06, 0.5), arrowprops={"arrowstyle": "->"})
    return fig


def limiter_figure(limiter: str = "redis", rate: int = 10, burst: int = 20, load: float = 15.0,
                   seed: int = 1) -> Figure:
    """Admitted and rejected requests per second under a seeded load with a burst at 3-5 s."""
    run = limiter_run(limiter, rate, burst, load, seed=seed)
    rows = per_second(run)
    fig = new_figure(figsize=(8, 2.8))
    ax = fig.add_subplot(1, 1, 1)
    secs = [r[0] for r in rows]
    ax.bar(secs, [r[1] for r in rows], color="#2ca02c", label="admitted")
    ax.bar(secs, [r[2] for r in rows], bottom=[r[1] for r in rows], color="#d62728", label="rejected (429)")
    ax.axhline(rate, color="#333333", lw=1, ls="--", label=f"rate {rate}/s")
    ax.set_xlabel("second")
    ax.set_ylabel("requests")
    ax.set_title(f"{limiter}: {sum(run.admitted)} admitted, {len(run.admitted) - sum(run.admitted)} rejected",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def limiter_lab(limiter: str = "redis", rate: int = 10, burst: int = 20, load: float = 15.0, seed: int = 1) -> Any:
    return Lab(limiter_figure, limiter=["redis", "fixed_window", "sliding_log", "sliding_counter", "leaky_bucket"],
               rate=(1, 50, 1), burst=(1, 100, 1), load=(1.0, 60.0, 1.0), seed=(0, 20, 1),
               initial={"limiter": limiter, "rate": rate, "burst": burst, "load": load, "seed": seed},
               title="Rate-limiter scope")


LEVEL = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


def breaker_figure(fail_from_ms: float = 3000, fail_until_ms: float = 9000, seed: int = 1) -> Figure:
    """The breaker's state over time and where each request was served (upstream, fallback)."""
    run = breaker_run(fail_from_ms, fail_until_ms, seed=seed)
    fig = new_figure(figsize=(8, 3))
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1))
    xs, ys, state = [0.0], [0], CLOSED
    for tr in run.transitions:
        xs += [tr.time_ms / 1000, tr.time_ms / 1000]
        ys += [LEVEL[state], LEVEL[tr.to_state]]
        state = tr.to_state
    xs.append(run.times[-1] / 1000)
    ys.append(LEVEL[state])
    ax1.plot(xs, ys, color="#1f77b4")
    ax1.set_yticks([0, 1, 2], ["CLOSED", "HALF_OPEN", "OPEN"], fontsize=7)
    ax1.axvspan(fail_from_ms / 1000, fail_until_ms / 1000, color="#d62728", alpha=0.1, label="upstream down")
    ax1.legend(fontsize=7, loc="upper right")
    colors = {"orders:8080": "#2ca02c", "fallback": "#ff7f0e"}
    for who, c in colors.items():
        sel = [t / 1000 for t, s in zip(run.times, run.served_by, strict=True) if s == who]
        ax2.scatter(sel, [who] * len(sel), s=4, color=c)
    ax2.set_xlabel("time (s)")
    ax1.set_title(f"{run.upstream_calls} upstream calls for {len(run.times)} requests", fontsize=10)
    fig.tight_layout()
    return fig


def breaker_lab(fail_from_ms: float = 3000, fail_until_ms: float = 9000, seed: int = 1) -> Any:
    return Lab(breaker_figure, fail_from_ms=(0, 14000, 500), fail_until_ms=(0, 14000, 500), seed=(0, 20, 1),
               initial={"fail_from_ms": fail_from_ms, "fail_until_ms": fail_until_ms, "seed": seed},
               title="Breaker dashboard")


def canary_figure(n: int = 10_000, seed: int = 1) -> Figure:
    """Requests per route of an 8:2 Weight group plus a header route for testers."""
    hits = canary_run(n, seed)
    fig = new_figure(figsize=(6, 2.4))
    ax = fig.add_subplot(1, 1, 1)
    names = sorted(hits)
    ax.barh(names, [hits[k] for k in names], color=["#1f77b4", "#ff7f0e", "#9467bd"][:len(names)])
    for i, k in enumerate(names):
        ax.text(hits[k], i, f" {hits[k]} ({hits[k] / n:.1%})", va="center", fontsize=8)
    ax.set_xlim(0, n * 1.05)
    ax.set_xlabel("requests")
    fig.tight_layout()
    return fig


TESTER_ROUTES = [
    {"id": "admin", "uri": "http://admin:80", "order": -1, "predicates": ["Path=/admin/**", "RemoteAddr=10.0.0.0/8"]},
    {"id": "member", "uri": "lb://member", "predicates": ["Path=/api/member/{segment}", "Method=GET,POST"]},
    {"id": "canary", "uri": "http://v2:80", "predicates": ["Path=/api/**", "Header=X-Canary,true"]},
    {"id": "api", "uri": "http://v1:80", "predicates": ["Path=/api/**"]},
]


def route_tester_figure(path: str = "/api/member/7", method: str = "GET", canary: bool = False,
                        remote_addr: str = "192.168.1.5") -> Figure:
    """Every predicate's verdict for one request over a small route table; the winner highlighted."""
    from .exchange import Exchange, Request
    from .gateway import Gateway
    gw = Gateway(TESTER_ROUTES, [], seed=0)
    headers = (("X-Canary", "true"),) if canary else ()
    req = Request(method, path if path.startswith("/") else "/" + path, headers=headers, remote_addr=remote_addr)
    winner = gw.lookup_route(Exchange(req))
    rows = [[r.id, str(r.order), "  ".join(f"{p}: {'yes' if p(Exchange(req)) else 'no'}" for p in r.predicates)]
            for r in gw.routes]
    fig = new_figure(figsize=(9, 1.8))
    ax = fig.add_axes((0, 0, 1, 0.85))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["route", "order", "predicates"], loc="center", cellLoc="left",
                     colWidths=[0.12, 0.08, 0.8])
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for i, r in enumerate(gw.routes, start=1):
        if winner is not None and r.id == winner.id:
            for j in range(3):
                table[i, j].set_facecolor("#d9f0d3")
    fig.suptitle(f"{method} {req.path}: " + (f"route {winner.id!r} wins" if winner else "no route: 404"), fontsize=9)
    return fig


def route_tester(path: str = "/api/member/7", method: str = "GET", canary: bool = False,
                 remote_addr: str = "192.168.1.5") -> Any:
    """The route tester: a request's path, method, canary header and client address."""
    paths = ["/api/member/7", "/api/member/7/orders", "/api/cart", "/admin/users", "/static/x"]
    return Lab(route_tester_figure, path=paths if path in paths else [path, *paths],
               method=["GET", "POST", "DELETE"], canary=False,
               remote_addr=["192.168.1.5", "10.1.2.3"],
               initial={"path": path, "method": method, "canary": canary, "remote_addr": remote_addr},
               title="Route tester")
