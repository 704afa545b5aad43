"""The trace player itself in Chromium, on standalone pages (no book build needed): what the
Raft and Paxos panels show equals the servers' real state, the partition and the seed are
on screen, stepping back works, windowed players say so, and two players share one page."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

import dscourse as ds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from viz_replay.helpers import paxos_duel, raft_partition_run

from .conftest import click_a_message

PLAYER = "[data-dscourse-player]"


@pytest.fixture
def show(browser_context):
    opened = []

    def load(html: str):
        page = browser_context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.set_content(html)
        opened.append(page)
        return page, errors

    yield load
    for page in opened:
        page.close()


def raft_rows(page) -> dict[str, list[str]]:
    return page.eval_on_selector_all(
        ".dsp-raft tbody tr", "rows => Object.fromEntries(rows.map(r => [r.dataset.node, "
        "Array.from(r.children).map(c => c.innerText.trim())]))")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_raft_panel_shows_what_the_servers_hold(show, seed):
    c = raft_partition_run(seed, crash=seed == 3)
    page, errors = show(ds.viz.replay(c, title=f"Raft seed {seed}").page())
    rows = raft_rows(page)            # the player opens at the end of the run
    assert set(rows) == set(c.ids)
    for sid in c.ids:
        node = c.nodes[sid]
        _name, role, term, _timer, commit, *cells = rows[sid]
        assert role == node.role and term == str(node.term) and commit == str(node.commit_index)
        assert [x for x in cells if x] == [str(t) for t, _ in c.logs()[sid]]
    assert f"seed {seed}" in page.inner_text(".dsp-foot")
    assert page.locator(".dsp-pending").count() == 0      # the placeholder goes once the player mounts
    assert page.locator(".dsp-spacetime .dsp-partition").count() >= 1
    assert errors == []


def test_scrubbing_back_shows_the_partition_timers_and_the_old_leader(show):
    c = raft_partition_run(1)
    events = c.sim.trace.events
    cut = next(i for i, e in enumerate(events) if e.kind == "partition")
    page, errors = show(ds.viz.replay(c).page())
    slider = page.locator('input[type="range"]')
    slider.fill(str(cut + 1))
    assert "partition: {" in page.inner_text(".dsp-cluster")
    widths = page.eval_on_selector_all(".dsp-rl-timer", "rs => rs.map(r => +r.getAttribute('width'))")
    assert widths and all(0 <= w <= 90 for w in widths)
    leaders = [sid for sid, row in raft_rows(page).items() if row[1] == "leader"]
    assert len(leaders) == 1
    end = page.locator('button[data-act="end"]')
    end.click()
    before = raft_rows(page)
    page.locator('button[data-act="back"]').click()
    assert page.get_attribute(PLAYER, "data-cursor") == str(len(events) - 1)
    page.locator('button[data-act="step"]').click()
    assert raft_rows(page) == before
    assert errors == []


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_paxos_panel_shows_each_acceptors_promise_and_vote(show, seed):
    c = paxos_duel(seed)
    page, errors = show(ds.viz.replay(c).page())
    rows = page.eval_on_selector_all(
        ".dsp-paxos tbody tr", "rows => Object.fromEntries(rows.map(r => [r.dataset.node, "
        "Array.from(r.children).map(c => c.innerText.trim())]))")
    assert set(rows) == set(c.acceptors)
    for a in c.acceptors:
        st = c.sim.nodes[a].stable
        assert rows[a][1] == f"({st['promised'].round},{st['promised'].node or '-'})"
        acc = st["accepted"]
        if acc is not None:
            assert rows[a][2].endswith(f"\u2192 {acc.value}")
    (value,) = c.chosen()
    assert f"{value} at ballot" in page.inner_text(".dsp-paxos + .dsp-small")
    assert errors == []


def test_a_windowed_player_says_so_and_two_players_share_a_page(show):
    long = ds.raft.cluster(n=5, seed=3)
    long.run(20_000)
    windowed = ds.viz.replay(long, max_bytes=150_000)
    other = ds.viz.replay(paxos_duel(2))
    page, errors = show("<!DOCTYPE html><html><body>" + windowed.html() + other.html() + "</body></html>")
    assert page.locator(PLAYER).count() == 2
    assert page.locator(f"{PLAYER} .dsp-note").first.inner_text().startswith("Windowed: showing events 0-")
    assert page.locator(".dsp-raft").count() == 1 and page.locator(".dsp-paxos").count() == 1
    sliders = page.locator('input[type="range"]')
    assert sliders.nth(0).get_attribute("max") == str(windowed.window.stop)
    assert errors == []


def test_paxos_panel_shows_the_model_checkers_counterexample_choosing_two_values(show):
    bug = ds.paxos.check("no-adopt")
    page, errors = show(ds.viz.replay(bug.trace).page())
    text = page.inner_text(".dsp-panels")
    assert "Agreement violated" in text and "v1 at ballot" in text and "v2 at ballot" in text
    page.locator('input[type="range"]').fill("0")
    assert "Agreement violated" not in page.inner_text(".dsp-panels")
    assert "seed not recorded" in page.inner_text(".dsp-foot")
    assert errors == []


def test_a_click_on_a_message_shows_its_payload_and_the_senders_state(show):
    c = raft_partition_run(2)
    page, errors = show(ds.viz.replay(c).page())
    root = page.locator(PLAYER)
    detail = click_a_message(root)
    assert detail is not None
    first = detail.splitlines()[0]
    assert first.startswith("message #") and " \u2192 " in first
    label = first.split()[2].rstrip(":")
    assert label in {"AppendEntries", "AppendEntriesReply", "RequestVote", "RequestVoteReply"}
    assert "payload: {" in detail and '"term":' in detail
    sender = first.split(": ", 1)[1].split(" \u2192 ")[0]
    assert f"sender {sender} then: " in detail and '"role":' in detail
    assert root.get_attribute("data-selected").startswith('{"msg":')
    assert errors == []


def test_play_runs_to_the_end_faster_at_a_higher_speed_and_pause_stops_it(show):
    page, errors = show(ds.viz.replay(paxos_duel(3)).page())
    root = page.locator(PLAYER)
    slider = root.locator('input[type="range"]')
    top = int(slider.get_attribute("max"))
    play = root.locator('button[data-act="play"]')
    slider.fill("0")
    play.click()
    page.wait_for_function("() => +document.querySelector('[data-dscourse-player]').dataset.cursor > 0")
    play.click()                                          # pause
    paused = root.get_attribute("data-cursor")
    page.wait_for_timeout(300)
    assert root.get_attribute("data-cursor") == paused and root.get_attribute("data-playing") is None
    root.locator("select.dsp-speed").select_option("8")
    play.click()                                          # resume at 8x: the 15 s run takes about 2 s
    page.wait_for_function("() => !document.querySelector('[data-dscourse-player]').hasAttribute('data-playing')",
                           timeout=10_000)
    assert root.get_attribute("data-cursor") == str(top) and int(paused) < top
    assert errors == []


@pytest.mark.parametrize("view", ["spacetime", "cluster"])
def test_single_views_scrub_without_errors(show, view):
    page, errors = show(ds.viz.replay(raft_partition_run(1), view=view).page())
    root = page.locator(PLAYER)
    assert root.locator(".dsp-spacetime").count() == (view == "spacetime")
    assert root.locator(".dsp-cluster").count() == (view == "cluster")
    slider = root.locator('input[type="range"]')
    seen = set()
    for position in ("0", "300", "900"):
        slider.fill(position)
        seen.add(root.locator(".dsp-views").inner_html())
    assert len(seen) == 3
    detail = None
    for position in range(0, int(slider.get_attribute("max")), 25):   # an instant with a message in view
        slider.fill(str(position))
        detail = click_a_message(root)
        if detail is not None:
            break
    assert detail is not None and "payload:" in detail
    assert errors == []


def python_fold(events, n):
    """What the state table must show after the first ``n`` events (the JavaScript fold's spec):
    status, annotated role and term, each node's pending timers with their due time (rounded
    half up to 0.01 ms, as JavaScript's Math.round), and the messages it sent and received."""
    status, ann, timers, sent, recv = {}, {}, {}, {}, {}
    for e in events[:n]:
        if e.kind == "send":
            sent[e.node] = sent.get(e.node, 0) + 1
        elif e.kind == "deliver":
            recv[e.node] = recv.get(e.node, 0) + 1
        if e.kind in ("crash", "pause"):
            status[e.node] = e.kind + "ed"
            if e.kind == "crash":
                timers = {h: t for h, t in timers.items() if t[0] != e.node}
        elif e.kind in ("recover", "resume"):
            status.pop(e.node, None)
        elif e.kind == "annotate":
            ann.setdefault(e.node, {}).update(e.data)
        elif e.kind == "timer_set":
            timers[e.msg_id] = (e.node, e.label, e.data["at"])
        elif e.kind in ("timer_fire", "timer_cancel"):
            timers.pop(e.msg_id, None)
    now = events[n - 1].time if n else 0
    return {node: (status.get(node, "up"), str(ann.get(node, {}).get("role", "")),
                   str(ann.get(node, {}).get("term", "")),
                   sorted(f"{name} in {math.floor((at - now) / 10 + 0.5) / 100:g} ms"
                          for nd, name, at in timers.values() if nd == node),
                   str(sent.get(node, 0)), str(recv.get(node, 0)))
            for node in {e.node for e in events if e.node}}


@pytest.mark.parametrize("seed", [3, 8])
def test_the_state_table_is_the_fold_of_the_trace_at_every_cursor(show, seed):
    c = raft_partition_run(seed, crash=True)
    events = c.sim.trace.events
    page, errors = show(ds.viz.replay(c).page())
    slider = page.locator('input[type="range"]')
    positions = sorted({0, 1, len(events)} | set(range(7, len(events), max(1, len(events) // 23))))
    for n in positions:
        slider.fill(str(n))
        shown = page.eval_on_selector_all(".dsp-state tbody tr", """rows => Object.fromEntries(rows.map(r => {
            const cells = Array.from(r.children).map(c => c.innerText.trim());
            const head = Array.from(r.closest('table').querySelectorAll('th')).map(h => h.innerText.trim());
            const at = name => cells[head.indexOf(name)] || '';
            return [r.dataset.node, [at('status'), at('role'), at('term'),
                    at('timers') ? at('timers').split('; ').sort() : [], at('sent'), at('recv')]];
        }))""")
        expected = python_fold(events, n)
        for node, row in shown.items():
            want = expected[node]
            assert list(row) == list(want), (n, node)
    assert errors == []


def test_the_raft_log_matrix_follows_the_rebuilt_logs_at_every_cursor(show):
    from dscourse.raft.replay_panel import rebuild_commits, rebuild_logs

    c = raft_partition_run(5, crash=True)
    events, nodes = c.sim.trace.events, list(c.ids)
    page, errors = show(ds.viz.replay(c).page())
    slider = page.locator('input[type="range"]')
    for n in sorted({0, len(events)} | set(range(3, len(events), max(1, len(events) // 19)))):
        slider.fill(str(n))
        logs, _ = rebuild_logs(events, nodes, n)          # the logs just before event n
        commits, _ = rebuild_commits(events, nodes, n)
        rows = raft_rows(page)
        for sid in nodes:
            _name, _role, _term, _timer, commit, *cells = rows[sid]
            assert [x for x in cells if x] == [str(t) for t, _ in logs[sid]], (n, sid)
            assert commit == str(commits[sid]), (n, sid)
    assert errors == []
