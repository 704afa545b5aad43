"""Chapter 10/11 labs: deterministic summaries, sensible figures, the drills' semantics."""

import pytest

import dscourse as ds
from dscourse.idesign import labs as l11
from dscourse.ids import labs as l10


def test_rollback_drill_policies():
    raise_, wait, logical = l10.rollback_drill(3)  # the last id was at t=19: 2 ms behind at t=20
    assert len(raise_.errors) == 2 * 5 and len(wait.errors) == 0 and wait.waited_ms == 4
    assert len(logical.errors) == 0 and logical.lead_range()[1] <= 0  # never ahead of true time
    raise_, wait, _ = l10.rollback_drill(8)
    assert len(wait.errors) == 2 * 5 and wait.waited_ms == 10  # 7 and 6 ms behind fail; 5 waits
    with pytest.raises(ds.ConfigError, match="delta_ms=-1"):
        l10.rollback_drill(-1)


@pytest.mark.parametrize("scheme", ["leaf", "uuid4", "redis"])
def test_id_lab_runs_are_deterministic_and_unique(scheme):
    a = l10.run_scheme(scheme, nodes=2, seed=3, ms=100)
    b = l10.run_scheme(scheme, nodes=2, seed=3, ms=100)
    assert a.records == b.records and len(set(a.ids)) == len(a.ids) > 150


def test_segment_trace_stalls_only_when_the_round_trip_is_too_slow():
    fast = l10.segment_trace(db_latency_ms=30, step=200, ms=800)
    slow = l10.segment_trace(db_latency_ms=100, step=200, ms=800)
    assert fast.stalls == 1 and slow.stalls > 2


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_layout_designer_draws_and_states_the_layout():
    lab = l10.layout_designer()
    years = 2**41 / (365.25 * 24 * 3600 * 1000)
    assert lab.summary() == (f"designed: sign 1 | timestamp 41 | worker 10 | sequence 12; lifetime {years:.1f} "
                             f"years, {2**10} workers, {2**12} ids/ms per worker")
    bits, cmp = lab.figure().axes
    assert _texts(bits) == ["sign\n1", "timestamp\n41", "worker\n10", "sequence\n12"]
    assert len(bits.patches) == 4 and [p.get_width() for p in bits.patches] == [1, 41, 10, 12]
    assert f"{years:.1f} years" in cmp.get_title()
    lab.set(worker_bits=12)
    assert "worker 12 | sequence 10" in lab.summary() and f"{2**10} ids/ms" in lab.summary()
    assert [p.get_width() for p in lab.figure().axes[0].patches] == [1, 41, 12, 10]
    assert "no sequence bit" in l10._layout_summary(50, 22)
    bad = l10.layout_figure(50, 22)
    assert [_texts(ax) for ax in bad.axes] == [["timestamp 50 + worker 22 bits leave no sequence bit in 63: "
                                                "shrink one of them"]]


@pytest.mark.parametrize("delta_ms", [3, 8, 15])
def test_rollback_lab_plots_each_policys_ids_and_errors(delta_ms):
    lab = l10.rollback_lab(delta_ms)
    runs = l10.rollback_drill(delta_ms)
    fig = lab.figure()
    assert [ax.get_title() for ax in fig.axes] == [f"{r.policy}: waited {r.waited_ms} ms" for r in runs]
    assert fig.axes[0].get_xlabel() == "true time (ms)" and fig.axes[0].get_ylabel() == "timestamp in the id (ms)"
    for ax, r in zip(fig.axes, runs, strict=True):
        plotted = [len(c.get_offsets()) for c in ax.collections]
        assert plotted == [n for n in (len(r.id_ms), len(r.errors)) if n]   # ids, then errors if any
        assert f"{r.policy}: {len(r.id_ms)} ids, {len(r.errors)} errors, waited {r.waited_ms} ms" in lab.summary()
    assert lab.summary() == l10.rollback_lab(delta_ms).summary()        # a fresh lab says the same


@pytest.mark.parametrize("bits", [6, 8, 10])
def test_coupon_forge_measures_about_one_in_two_to_the_bits(bits):
    lab = l11.coupon_forge(check_bits=bits)
    text = lab.summary()
    assert text.startswith(f"{bits} check bits: P(forge) = 1/{2**bits};")
    accepted = int(text.split("; ")[1].split(" of ")[0])
    expected = 20_000 / 2**bits
    assert abs(accepted - expected) < 4 * expected**0.5 + 1             # binomial, 4 sigma
    prob, codes = lab.figure().axes
    assert prob.get_xlabel() == "check bits" and prob.get_ylabel() == "P(random code accepted)"
    assert [line.get_label() for line in prob.lines] == ["$2^{-bits}$ per guess",
                                                          f"measured: {accepted}/20000 guesses"]
    assert f"expected guesses per forgery: {2**bits:,}" in _texts(codes)


def test_trace_tree_draws_the_tree_the_summary_names():
    lab = l11.trace_tree()
    spans = lab.summary().split("each tree: ")[1].split(", ")        # "0=A", "0.1=B", ...
    log, tree = lab.figure().axes
    assert sorted(_texts(tree)) == sorted(f"{name}\n{sid}" for sid, name in (s.split("=") for s in spans))
    assert len(tree.collections) == len(spans) and len(tree.lines) == len(spans) - 1   # one edge per child
    assert log.get_title().startswith("log: 44 lines from 2 traces") and lab.summary().startswith("44 log lines")
    lab.set(requests=3)
    assert lab.summary().startswith("66 log lines, 3 traces")


def test_short_url_adjacency_scrambling_breaks_shared_prefixes():
    plain, scrambled = l11.short_url_adjacency(scramble=False), l11.short_url_adjacency(scramble=True)
    assert plain.summary().startswith("plain: 100.0% of consecutive codes share a 4-character prefix")
    assert scrambled.summary().startswith("scrambled: 0.0% of consecutive codes")
    for lab in (plain, scrambled):
        assert lab.summary().endswith("500 distinct codes of 500")
        ax = lab.figure().axes[1]
        assert ax.get_xlabel() == "character position" and ax.get_ylabel() == "P(same as next id's)"
        heights = [p.get_height() for p in ax.patches]
        assert _texts(ax) == [f"{h:.2f}" for h in heights] and len(heights) == 7
    assert [p.get_height() for p in plain.figure().axes[1].patches][:4] == [1.0] * 4
    assert max(p.get_height() for p in scrambled.figure().axes[1].patches) < 0.1


def test_lab_input_errors():
    with pytest.raises(ds.ConfigError, match="scheme='snowflakes'"):
        l10.run_scheme("snowflakes")
    with pytest.raises(ds.ConfigError, match="unit='h'"):
        l10.designer_layout(41, 10, "h")


@pytest.mark.parametrize("latency", [2, 5, 17, 30, 45])
def test_segment_summary_reports_the_cold_start_apart_from_later_stalls(latency):
    # one request per ms; the first segment arrives one round trip (2 x latency) after start-up
    text = l10.segment_summary(db_latency_ms=latency, step=200)
    assert f"cold start: the first {2 * latency - 1} requests waited up to {2 * latency - 1} ms" in text
    assert "after it: 0 stall episodes, 0 requests waited, p99 wait 0 ms" in text


def test_segment_summary_still_shows_stalls_when_the_round_trip_outlasts_a_segment():
    text = l10.segment_summary(db_latency_ms=100, step=200)
    later = int(text.split("after it: ")[1].split(" stall")[0])
    assert later > 2
