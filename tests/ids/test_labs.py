"""Chapter 10/11 labs: deterministic summaries, sensible figures, the drills' semantics."""

import pytest
from matplotlib.figure import Figure

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


def test_labs_render_and_describe_deterministically():
    labs = [l10.layout_designer(), l10.rollback_lab(), l11.coupon_forge(check_bits=8),
            l11.trace_tree(), l11.short_url_adjacency(scramble=False)]
    for lab in labs:
        assert isinstance(lab.figure(), Figure)
        assert lab.summary() == lab.summary()
    assert "no sequence bit" in l10._layout_summary(50, 22)
    assert isinstance(l10.layout_figure(50, 22), Figure)
    with pytest.raises(ds.ConfigError, match="scheme='snowflakes'"):
        l10.run_scheme("snowflakes")
    with pytest.raises(ds.ConfigError, match="unit='h'"):
        l10.designer_layout(41, 10, "h")
