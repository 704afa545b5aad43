"""E12.5 harness: the library's ExtensionLoader (the reference) conforms to the table of Dubbo's
documented behaviour, a right answer passes every property on many seeds, each typical wrong
answer fails exactly the property it breaks, the stub is not implemented, bad shapes are clear."""

import pytest

from dscourse.rpc import exercises_spi as S
from dscourse.rpc.spi import ExtensionLoader, parse_resource

# -- the master's answer (as in exercises/source/ch12.ipynb), and wrong ones ---------------------------


def extension_chain(files, spi, name, url, *, adaptive=True, empty_is_absent=True, sort_wrappers=True,
                    wrappers_are_names=False, last_wins=False, refuse_duplicates=True, strip_comments=True):
    names, refused, wrappers = {}, set(), []
    for text in files:
        for raw in text.splitlines():
            line = (raw.split("#", 1)[0] if strip_comments else raw).strip()
            if not line or line.startswith("#"):
                continue
            key, _, cls = (part.strip() for part in line.partition("="))
            if cls in spi["wrappers"] and not wrappers_are_names:
                if cls not in wrappers:
                    wrappers.append(cls)
            elif key not in names or last_wins:
                names[key] = cls
            elif names[key] != cls and refuse_duplicates:
                refused.add(key)
    if name is None:
        values = [url.get(k) for k in spi["keys"]] if adaptive else []
        name = next((v for v in values if (v if empty_is_absent else v is not None)), spi["default"])
    if name not in names or name in refused:
        return None
    if sort_wrappers:
        wrappers.sort(key=lambda c: spi["wrappers"][c])         # stable: equal orders keep file order
    return [*wrappers, names[name]]


def variant(**how):
    return lambda files, spi, name, url: extension_chain(files, spi, name, url, **how)


def failed(trial):
    return sorted(v.split(":")[0] for v in trial.violations)


# -- the reference ------------------------------------------------------------------------------------


def test_the_library_loader_conforms_to_the_table():
    for prop, what, files, spi, name, url, want in S.CONFORMANCE:
        assert S.reference_extension_chain(files, spi, name, url) == want, (prop, what)


def test_the_table_covers_every_property_and_both_outcomes():
    for prop in S.SPI_PROPERTIES[:-1]:
        rows = [row for row in S.CONFORMANCE if row[0] == prop]
        assert any(r[-1] is None for r in rows) and any(r[-1] is not None for r in rows), prop


def test_loader_keeps_its_old_behaviour_by_default():
    loader = ExtensionLoader("lb", ["a=m:A\n", "a=m:B\nb=m:B\n"], default="a", key="lb")
    assert loader.chain("a") == ["m:A"] and loader.adaptive_name({"lb": "b"}) == "b"
    assert loader.adaptive_name({"lb": ""}) == "a"                 # Dubbo's getParameter: empty is absent
    with pytest.raises(ValueError, match="not already defined"):
        parse_resource("a=m:A\na=m:A\n")
    refusing = ExtensionLoader("lb", ["a=m:A\n", "a=m:B\nb=m:B\n"], duplicates="refuse",
                               wrapper_orders={"w:Two": 2, "w:One": 1})
    assert not refusing.has_extension("a") and refusing.chain("b") == ["m:B"]
    with pytest.raises(ValueError, match="duplicate extension"):
        refusing.chain("a")
    wrapped = ExtensionLoader("p", "x=w:Two\ny=w:One\nd=m:D\n", wrapper_orders={"w:Two": 2, "w:One": 1})
    assert wrapped.chain("d") == ["w:One", "w:Two", "m:D"] and not wrapped.has_extension("x")
    with pytest.raises(ValueError, match="duplicates"):
        ExtensionLoader("p", "d=m:D", duplicates="last")


def test_random_cases_exercise_every_outcome():
    from dscourse.sim import stream
    rng = stream(1, "test E12.5")
    outcomes = {"none": 0, "plain": 0, "wrapped": 0, "refused": 0}
    for _ in range(400):
        files, spi, name, url = S.random_case(rng)
        got = S.reference_extension_chain(files, spi, name, url)
        outcomes["none" if got is None else "wrapped" if len(got) > 1 else "plain"] += 1
        loader = ExtensionLoader("x", files, wrapper_orders=spi["wrappers"], duplicates="refuse")
        outcomes["refused"] += bool(loader.refused)
    assert min(outcomes.values()) >= 40, outcomes


# -- the harness ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(1, 9))
def test_master_answer_passes_every_property(seed):
    trial = S.spi_trial(extension_chain, seed)
    assert trial.ok, trial.violations


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_wrong_answers_fail_their_property_only(seed):
    assert failed(S.spi_trial(variant(sort_wrappers=False), seed)) == ["reference", "wrappers"]
    assert failed(S.spi_trial(variant(adaptive=False), seed)) == ["adaptive", "reference"]
    assert failed(S.spi_trial(variant(empty_is_absent=False), seed)) == ["adaptive", "default", "reference"]
    assert failed(S.spi_trial(variant(wrappers_are_names=True), seed)) == ["reference", "wrappers"]
    assert failed(S.spi_trial(variant(last_wins=True, refuse_duplicates=False), seed)) == ["duplicates", "reference"]
    assert failed(S.spi_trial(variant(refuse_duplicates=False), seed)) == ["duplicates", "reference"]
    assert failed(S.spi_trial(variant(strip_comments=False), seed)) == ["names", "reference"]


def test_reversed_wrappers_fail_wrappers_only():
    def innermost_first(files, spi, name, url):
        chain = extension_chain(files, spi, name, url)
        return chain if chain is None else [*reversed(chain[:-1]), chain[-1]]
    assert failed(S.spi_trial(innermost_first, 1)) == ["reference", "wrappers"]
    message = S.spi_trial(innermost_first, 1, properties=("wrappers",)).violations[0]
    assert message.startswith("wrappers: lowest order outermost") and "expected ['demo.protocol:Protocol" in message


def test_each_property_alone_judges_only_itself():
    wrong = variant(adaptive=False)
    for p in S.SPI_PROPERTIES:
        assert failed(S.spi_trial(wrong, 2, properties=(p,))) == ([p] if p in ("adaptive", "reference") else [])


def test_stub_is_not_implemented_and_bad_shapes_are_clear():
    def stub(files, spi, name, url):
        raise NotImplementedError("write extension_chain")
    for p in S.SPI_PROPERTIES:
        with pytest.raises(NotImplementedError):
            S.spi_trial(stub, 1, properties=(p,))
    for bad in ("dscourse.rpc.loadbalance:RandomLoadBalance", [], [1], {"chain": []}):
        trial = S.spi_trial(lambda files, spi, name, url, bad=bad: bad, 1)
        assert len(trial.violations) == 1 and "expected a non-empty list of class names" in trial.violations[0]
    with pytest.raises(ValueError, match="properties"):
        S.spi_trial(extension_chain, 1, properties=("speed",))
    with pytest.raises(ZeroDivisionError):        # as in E12.1-E12.4: the grader reports where it raised
        S.spi_trial(lambda files, spi, name, url: 1 / 0, 1)


def test_the_answer_gets_copies():
    def mutating(files, spi, name, url):
        files.clear()
        spi["wrappers"].clear()
        url.clear()
        return None
    S.spi_trial(mutating, 1)
    test_the_library_loader_conforms_to_the_table()
