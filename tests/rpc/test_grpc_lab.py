"""The demo service over real gRPC on loopback: deadline, status codes, retries (runs in CI)."""

from dscourse.rpc.grpc_lab import RETRY_CONFIG, DemoClient, serve, tour


def test_tour_statuses():
    statuses = [(call, status) for call, status, _ in tour()]
    assert statuses == [("SayHello(alice)", "OK"), ("SayHello('')", "INVALID_ARGUMENT"),
                        ("Slow, deadline 0.1 s", "DEADLINE_EXCEEDED"), ("Flaky (fails twice)", "OK"),
                        ("Nope", "UNIMPLEMENTED"), ("Flaky, retries off", "UNAVAILABLE")]


def test_retries_stop_at_max_attempts_and_skip_unlisted_methods():
    with serve(flaky_failures=5) as server, DemoClient(server.port) as client:
        assert client.call("Flaky", {"key": "x"})[0] == "UNAVAILABLE"
        assert server.attempts["Flaky"] == RETRY_CONFIG["methodConfig"][0]["retryPolicy"]["maxAttempts"] == 3
        assert client.call("PlaceOrder", {"order_id": "o1"}) == ("OK", {"placed": "o1"})
        assert server.orders == ["o1"]
    listed = {m["method"] for m in RETRY_CONFIG["methodConfig"][0]["name"]}
    assert "PlaceOrder" not in listed            # a non-idempotent write is never retried
