"""Predicate factories and Spring's URL patterns: conformance tables, full-match regexes (H11),
zoned times (H8), Weight groups over seeds, first match by order then declaration (H10)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dscourse.gateway import Backend, Exchange, Gateway, HostPattern, PathPattern, Request, build_predicate, parse_zoned


def verdict(name, args, **req):
    return build_predicate(name, args)(Exchange(Request(**req)))


@pytest.mark.parametrize("pattern,path,expected", [
    ("/say/**", "/say", {}), ("/say/**", "/say/a/b", {}), ("/say/**", "/sayx", None),
    ("/red/{segment}", "/red/blue", {"segment": "blue"}), ("/red/{segment}", "/red/blue/x", None),
    ("/red/{segment}", "/red/", None), ("/a/*.html", "/a/x.html", {}), ("/a/?", "/a/b", {}),
    ("/a/?", "/a/bc", None), ("/api/{id:\\d+}", "/api/42", {"id": "42"}), ("/api/{id:\\d+}", "/api/4x", None),
    ("/files/{*rest}", "/files/a/b", {"rest": "/a/b"}), ("/u/{name}-{n}", "/u/ann-7", {"name": "ann", "n": "7"}),
    ("/a/b", "/a/b/", None),
])
def test_path_pattern_table(pattern, path, expected):
    assert PathPattern(pattern).match(path) == expected


def test_path_pattern_rejects_double_star_in_the_middle():
    with pytest.raises(ValueError, match="only as the last segment"):
        PathPattern("/a/**/b")
    with pytest.raises(ValueError, match="starting with '/'"):
        PathPattern("a/b")


@pytest.mark.parametrize("pattern,host,expected", [
    ("**.haha.com:871", "a.b.haha.com:871", True), ("**.haha.com:871", "haha.com:871", True),
    ("**.haha.com:871", "a.haha.com", False), ("{sub}.myhost.org", "www.myhost.org", True),
    ("*.somehost.org", "x.y.somehost.org", False),
])
def test_host_pattern_table(pattern, host, expected):
    assert (HostPattern(pattern).match(host) is not None) == expected
    assert verdict("Host", [pattern], host=host) == expected


@settings(max_examples=50)
@given(seg=st.text(st.characters(blacklist_characters="/", min_codepoint=33, max_codepoint=126), min_size=1))
def test_capture_takes_any_segment(seg):
    assert PathPattern("/x/{v}").match(f"/x/{seg}") == {"v": seg}
    assert PathPattern("/x/**").match(f"/x/{seg}/{seg}") == {}


def test_header_cookie_query_regex_must_match_entire_value():
    assert verdict("Header", ["token", "123"], headers={"token": "123"})
    assert not verdict("Header", ["token", "123"], headers={"token": "1234"})   # H11: a full match
    assert verdict("Header", ["X-Request-Id", "\\d+"], headers={"x-request-id": "77"})
    assert verdict("Cookie", ["token", "12."], cookies={"token": "123"})
    assert not verdict("Cookie", ["token", "12"], cookies={"token": "123"})
    assert verdict("Query", ["skuID", "11"], query={"skuID": "11"})
    assert not verdict("Query", ["skuID", "11"], query={"skuID": "110"})
    assert verdict("Query", ["green"], query={"green": ""})   # Query=name alone: presence
    assert not verdict("Query", ["green"], query={"red": "x"})
    assert verdict("Header", ["X-A", "(?<v>a+)"], headers={"X-A": "aaa"})   # a Java named group


def test_method_and_remote_addr():
    assert verdict("Method", ["GET", "POST"], method="POST")
    assert not verdict("Method", ["GET"], method="DELETE")
    assert verdict("RemoteAddr", ["192.168.1.1/24"], remote_addr="192.168.1.77")
    assert not verdict("RemoteAddr", ["192.168.1.1/24"], remote_addr="192.168.2.1")
    with pytest.raises(ValueError, match="Method"):
        build_predicate("Method", ["FETCH"])


def test_zoned_times_and_erratum_h8():
    assert parse_zoned("2022-03-20T21:02:47.789+08:00[Asia/Shanghai]").utcoffset().total_seconds() == 8 * 3600
    with pytest.raises(ValueError, match="Asia/Shanghai"):
        parse_zoned("2022-03-20T21:02:47.789-07:00[Asia/Shanghai]")
    with pytest.raises(ValueError, match="offset required"):
        parse_zoned("2022-03-20T21:02:47")
    # virtual time 0 is 2026-01-01T00:00Z
    assert verdict("After", ["2025-12-31T23:59:59Z"], time_ms=0)
    assert not verdict("After", ["2026-01-01T00:00:01+00:00"], time_ms=0)
    assert verdict("After", ["2026-01-01T00:00:01+00:00"], time_ms=1001)
    assert verdict("Before", ["2026-01-01T08:00:01+08:00[Asia/Shanghai]"], time_ms=0)
    assert verdict("Between", ["2025-12-31T00:00Z", "2026-01-02T00:00Z"], time_ms=5)
    with pytest.raises(ValueError, match="before datetime2"):
        build_predicate("Between", ["2026-01-02T00:00Z", "2025-12-31T00:00Z"])


def test_unknown_predicate_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"Pathh.*After, Before, Between, Cookie, Header, Host, Method, Path"):
        build_predicate("Pathh", ["/x"])


ROUTES = {"spring": {"cloud": {"gateway": {"routes": [
    {"id": "catch-all", "uri": "http://b:1", "order": 5, "predicates": ["Path=/**"]},
    {"id": "first-declared", "uri": "http://a:1", "predicates": ["Path=/api/**"]},
    {"id": "second-declared", "uri": "http://b:1", "predicates": ["Path=/api/**"]},
    {"id": "earlier-by-order", "uri": "http://a:1", "order": -1, "predicates": ["Path=/api/v2/**", "Method=GET"]},
]}}}}


def test_first_match_by_order_then_declaration():
    gw = Gateway(ROUTES, [Backend("a:1"), Backend("b:1")], seed=1)
    assert [r.id for r in gw.routes] == ["earlier-by-order", "first-declared", "second-declared", "catch-all"]
    assert gw.lookup_route(Exchange(Request(path="/api/v2/x"))).id == "earlier-by-order"
    assert gw.lookup_route(Exchange(Request("POST", "/api/v2/x"))).id == "first-declared"   # all must match
    assert gw.lookup_route(Exchange(Request(path="/other"))).id == "catch-all"


@pytest.mark.parametrize("seed", range(5))
def test_weight_groups_split_within_two_percent(seed):
    routes = [{"id": "stable", "uri": "http://a:1", "predicates": ["Path=/w/**", "Weight=g,8"]},
              {"id": "canary", "uri": "http://b:1", "predicates": ["Path=/w/**", "Weight=g,2"]}]
    gw = Gateway(routes, [Backend("a:1"), Backend("b:1")], seed=seed)
    n = 10_000
    canary = sum(gw.handle(Request(path="/w/x", time_ms=i)).served_by == "b:1" for i in range(n))
    assert abs(canary / n - 0.2) <= 0.02


@pytest.mark.parametrize("pattern,problem", [
    ("/a/{id", "missing '}'"), ("/a/{", "missing '}'"), ("/a/{x:\\d+", "missing '}'"),
    ("/a/{x:[0-9]{2}", "missing '}'"), ("/a/id}", "'}' without"), ("/a/}", "'}' without"),
    ("/a/{i{d}}", "nested"), ("/a/{x:}", "empty regex"), ("/a/{id}/{id}", "captured twice"),
    ("/a/{x}-{x}", "captured twice"), ("/a/pre{*r}", "whole segment"), ("/a/{x:(}", "regex"),
])
def test_path_pattern_rejects_what_spring_rejects(pattern, problem):
    """Spring's InternalPathPatternParser throws MISSING_CLOSE_CAPTURE, MISSING_OPEN_CAPTURE,
    ILLEGAL_NESTED_CAPTURE, MISSING_REGEX_CONSTRAINT, ILLEGAL_DOUBLE_CAPTURE,
    CAPTURE_ALL_IS_STANDALONE_CONSTRUCT and REGEX_PATTERN_SYNTAX_EXCEPTION for these."""
    with pytest.raises(ValueError, match=problem) as err:
        PathPattern(pattern)
    assert repr(pattern) in str(err.value)


@pytest.mark.parametrize("pattern,path,expected", [
    ("/a/{x:[0-9]{2}}", "/a/12", {"x": "12"}), ("/a/{x:[0-9]{2}}", "/a/123", None),
    ("/a/{x:\\}}", "/a/}", {"x": "}"}), ("/a/{a}{b}", "/a/12", {"a": "12", "b": ""}),
])
def test_path_pattern_regex_braces_and_escapes(pattern, path, expected):
    assert PathPattern(pattern).match(path) == expected


@settings(max_examples=200)
@given(st.text(alphabet="ab{}:*/", min_size=1, max_size=12))
def test_path_pattern_braces_balanced_or_clear_error(text):
    """Any pattern either parses with balanced braces per segment or raises a ValueError naming it."""
    pattern = "/" + text
    try:
        PathPattern(pattern)
    except ValueError as e:
        assert repr(pattern) in str(e)
        return
    for seg in pattern.split("/"):
        depth = 0
        for c in seg:
            depth += {"{": 1, "}": -1}.get(c, 0)
            assert depth >= 0, pattern
        assert depth == 0, pattern


def test_host_pattern_checks_captures_as_strictly():
    with pytest.raises(ValueError, match="missing '}'") as err:
        HostPattern("{sub.example.org")
    assert "'{sub.example.org'" in str(err.value)
    assert HostPattern("{sub}.example.org").match("www.example.org") == {"sub": "www"}
