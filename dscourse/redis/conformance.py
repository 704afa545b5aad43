"""Scripted conformance cases: the same calls through redis-py and through ``ds.redis.client``.

Each :class:`Case` is a list of steps ``(method, args, kwargs, normalize)`` on a redis-py
style client (``"pubsub.<method>"`` steps go to one ``client.pubsub()``). :func:`run_case`
records, per step, ``("ok", value)`` or ``("error", exception class name, message)``.
``tests/real`` runs every case on a real ``redis-server`` and on the simulator and asserts
identical outcomes; ``tests/redis`` runs them on the simulator everywhere (against the
outcomes recorded from Redis 7.0 where a case states them). Remaining-TTL replies are
rounded to 100 ms (``normalize="ms"``), the only wall-clock-dependent values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .lua import sha1hex
from .scripts import COMPARE_AND_DELETE, REDISSON_LOCK, REDISSON_RENEW, REDISSON_UNLOCK, SCG_RATE_LIMITER


@dataclass(frozen=True)
class Case:
    """A named scripted case; ``decode`` selects ``decode_responses``."""

    name: str
    steps: tuple[tuple[Any, ...], ...]
    decode: bool = False


def _ms(value: Any) -> Any:
    return round(value, -2) if isinstance(value, int) and value > 0 else value


NORMALIZE: dict[str, Callable[[Any], Any]] = {"ms": _ms}


def step(method: str, *args: Any, _n: str | None = None, **kwargs: Any) -> tuple[Any, ...]:
    return (method, args, kwargs, _n)


def run_case(connect: Callable[[bool], Any], case: Case, *, wait: float = 0.0) -> list[tuple[Any, ...]]:
    """Run ``case`` on ``connect(decode_responses)``; ``wait`` s for each pub/sub message."""
    client = connect(case.decode)
    pubsub = None
    out: list[tuple[Any, ...]] = []
    try:
        for method, args, kwargs, norm in case.steps:
            target = client
            if method.startswith("pubsub."):
                pubsub = pubsub or client.pubsub()
                target, method = pubsub, method.split(".", 1)[1]
                if method == "get_message":
                    kwargs = {**kwargs, "timeout": wait}
            try:
                value = getattr(target, method)(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the outcome under test is the exception
                out.append(("error", type(exc).__name__, str(exc)))
                continue
            out.append(("ok", NORMALIZE[norm](value) if norm else value))
    finally:
        if pubsub is not None:
            pubsub.close()
    return out


LOCK, CH = "lock", "redisson_lock__channel:{lock}"
A, B = "8743c9c0-0795-4907-87fd-6c719a6b4586:1", "8743c9c0-0795-4907-87fd-6c719a6b4586:2"


def _c(name: str, *steps: tuple[Any, ...], decode: bool = False) -> Case:
    return Case(name, tuple(steps), decode)


S = step
CASES: tuple[Case, ...] = (
    # -- strings and keys --------------------------------------------------------------------
    _c("set-get", S("set", "k", "v"), S("get", "k")),
    _c("set-get-decoded", S("set", "k", "v"), S("get", "k"), decode=True),
    _c("get-missing", S("get", "nope")),
    _c("set-nx-twice", S("set", "k", "a", nx=True), S("set", "k", "b", nx=True), S("get", "k")),
    _c("set-xx-missing", S("set", "k", "a", xx=True), S("exists", "k")),
    _c("set-xx-present", S("set", "k", "a"), S("set", "k", "b", xx=True), S("get", "k")),
    _c("set-nx-xx-syntax", S("set", "k", "a", nx=True, xx=True)),
    _c("set-px-pttl", S("set", "k", "a", px=10_000), S("pttl", "k", _n="ms")),
    _c("set-ex-pttl", S("set", "k", "a", ex=30), S("pttl", "k", _n="ms")),
    _c("set-px-zero", S("set", "k", "a", px=0)),
    _c("set-ex-negative", S("set", "k", "a", ex=-1)),
    _c("set-clears-ttl", S("set", "k", "a", px=5000), S("set", "k", "b"), S("pttl", "k")),
    _c("set-get-option", S("set", "k", "a"), S("set", "k", "b", get=True), S("get", "k")),
    _c("set-get-option-missing", S("set", "k", "b", get=True), S("get", "k")),
    _c("set-nx-get-present", S("set", "k", "a"), S("set", "k", "b", nx=True, get=True), S("get", "k")),
    _c("set-int-and-bytes", S("set", "k", 42), S("get", "k"), S("set", b"b\xff", b"\x00\x01"),
       S("get", b"b\xff")),
    _c("setex", S("setex", "k", 20, "v"), S("pttl", "k", _n="ms"), S("get", "k")),
    _c("setex-invalid", S("setex", "k", 0, "v")),
    _c("delete-many", S("set", "a", 1), S("set", "b", 2), S("delete", "a", "b", "c"), S("exists", "a", "b")),
    _c("exists-counts-duplicates", S("set", "a", 1), S("exists", "a", "a", "z")),
    _c("incr-new", S("incr", "n"), S("incr", "n"), S("get", "n")),
    _c("incr-amount", S("incr", "n", 10), S("incr", "n", -3)),
    _c("incr-not-integer", S("set", "s", "abc"), S("incr", "s")),
    _c("incr-overflow", S("set", "n", 9223372036854775807), S("incr", "n")),
    _c("incr-keeps-ttl", S("set", "n", 1, px=8000), S("incr", "n"), S("pttl", "n", _n="ms")),
    _c("pexpire-missing", S("pexpire", "nope", 100)),
    _c("pexpire-present", S("set", "k", "v"), S("pexpire", "k", 7000), S("pttl", "k", _n="ms")),
    _c("pexpire-negative-deletes", S("set", "k", "v"), S("pexpire", "k", -5), S("exists", "k")),
    _c("pexpire-not-integer", S("set", "k", "v"), S("pexpire", "k", "soon")),
    _c("pttl-no-ttl-and-missing", S("set", "k", "v"), S("pttl", "k"), S("pttl", "nope")),
    _c("get-on-hash-wrongtype", S("hset", "h", "f", "v"), S("get", "h")),
    _c("incr-on-hash-wrongtype", S("hset", "h", "f", "v"), S("incr", "h")),
    _c("type", S("set", "s", 1), S("hset", "h", "f", 1), S("type", "s"), S("type", "h"), S("type", "x"),
       decode=True),
    # -- hashes ------------------------------------------------------------------------------
    _c("hset-hget", S("hset", "h", "f", "v"), S("hget", "h", "f"), S("hget", "h", "g"), S("hget", "x", "f")),
    _c("hset-mapping", S("hset", "h", mapping={"a": 1, "b": "two"}), S("hgetall", "h")),
    _c("hset-update-returns-0", S("hset", "h", "f", "1"), S("hset", "h", "f", "2"), S("hget", "h", "f")),
    _c("hset-key-and-mapping", S("hset", "h", "f", "v", mapping={"g": "w", "f": "x"}), S("hgetall", "h")),
    _c("hset-on-string-wrongtype", S("set", "s", "v"), S("hset", "s", "f", "v")),
    _c("hincrby-new-and-existing", S("hincrby", "h", "f"), S("hincrby", "h", "f", 5), S("hincrby", "h", "f", -10)),
    _c("hincrby-not-integer-field", S("hset", "h", "f", "x"), S("hincrby", "h", "f", 1)),
    _c("hincrby-bad-increment", S("execute_command", "HINCRBY", "h", "f", "one")),
    _c("hdel-some", S("hset", "h", mapping={"a": 1, "b": 2, "c": 3}), S("hdel", "h", "a", "z"), S("hgetall", "h")),
    _c("hdel-last-deletes-key", S("hset", "h", "a", 1), S("hdel", "h", "a"), S("exists", "h")),
    _c("hexists", S("hset", "h", "a", 1), S("hexists", "h", "a"), S("hexists", "h", "b"), S("hexists", "x", "a")),
    _c("hgetall-order-and-missing", S("hset", "h", "z", 1), S("hset", "h", "a", 2), S("hset", "h", "m", 3),
       S("hgetall", "h"), S("hgetall", "none")),
    _c("hgetall-decoded", S("hset", "h", mapping={"x": 1, "y": 2}), S("hgetall", "h"), decode=True),
    _c("hset-keeps-ttl", S("hset", "h", "a", 1), S("pexpire", "h", 9000), S("hset", "h", "b", 2),
       S("hincrby", "h", "a", 1), S("pttl", "h", _n="ms")),
    _c("hlen", S("hset", "h", mapping={"a": 1, "b": 2}), S("hlen", "h"), S("hlen", "x")),
    _c("hset-wrong-arity", S("execute_command", "HSET", "h", "f")),
    _c("get-wrong-arity", S("execute_command", "GET")),
    _c("unknown-command", S("execute_command", "FROBNICATE", "a", "b")),
    # -- pub/sub -----------------------------------------------------------------------------
    _c("publish-no-subscribers", S("publish", "ch", "hello")),
    _c("subscribe-publish", S("pubsub.subscribe", "ch"), S("pubsub.get_message"), S("publish", "ch", "hi"),
       S("pubsub.get_message"), S("publish", "other", "x")),
    _c("unsubscribe", S("pubsub.subscribe", "a", "b"), S("pubsub.get_message"), S("pubsub.get_message"),
       S("pubsub.unsubscribe", "a"), S("pubsub.get_message"), S("publish", "a", "x"), S("publish", "b", "y"),
       S("pubsub.get_message", ignore_subscribe_messages=True)),
    # -- EVAL: Lua <-> reply conversion ------------------------------------------------------
    _c("eval-integer", S("eval", "return 42", 0)),
    _c("eval-float-truncates", S("eval", "return 3.99", 0), S("eval", "return -2.5", 0)),
    _c("eval-string", S("eval", "return 'hello'", 0)),
    _c("eval-table-stops-at-nil", S("eval", "return {1, 'a', nil, 2}", 0)),
    _c("eval-nested-table", S("eval", "return {1, {2, {'x'}}, 'y'}", 0)),
    _c("eval-booleans", S("eval", "return true", 0), S("eval", "return false", 0), S("eval", "return nil", 0)),
    _c("eval-status-reply", S("eval", "return redis.status_reply('FINE')", 0),
       S("eval", "return {ok='x'}", 0)),
    _c("eval-error-reply", S("eval", "return redis.error_reply('MYERR custom')", 0),
       S("eval", "return {err='boom'}", 0)),
    _c("eval-keys-argv", S("eval", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", 2, "k1", "k2", "a1", "a2")),
    _c("eval-numkeys-errors", S("eval", "return 1", 2, "a"), S("eval", "return 1", -1),
       S("execute_command", "EVAL", "return 1", "x")),
    _c("eval-call-replies", S("set", "s", "v"), S("hset", "h", "f", 7),
       S("eval", "return {redis.call('get', KEYS[1]), type(redis.call('get', 'nokey')), "
                 "redis.call('hget', KEYS[2], 'f'), redis.call('exists', KEYS[1])}", 2, "s", "h")),
    _c("eval-call-status-is-table", S("eval", "local r = redis.call('set', KEYS[1], 'v') return {type(r), r.ok}",
                                      1, "k")),
    _c("eval-call-status-returned", S("eval", "return redis.call('set', KEYS[1], 'v')", 1, "k")),
    _c("eval-call-number-args", S("eval", "redis.call('set', 'f', 0.1) redis.call('set', 'i', 7) "
                                          "return {redis.call('get', 'f'), redis.call('get', 'i')}", 0)),
    _c("eval-call-error-raises", S("set", "s", "abc"), S("eval", "return redis.call('incr', KEYS[1])", 1, "s")),
    _c("eval-call-error-line", S("eval", "local a = 1\nlocal b = redis.call('get')\nreturn b", 0)),
    _c("eval-pcall-error-table", S("set", "s", "abc"), S("eval", "return redis.pcall('incr', KEYS[1])", 1, "s"),
       S("eval", "local e = redis.pcall('incr', KEYS[1]) return e.err", 1, "s")),
    _c("eval-wrongtype-in-script", S("set", "s", "v"), S("eval", "return redis.call('hgetall', 's')", 0)),
    _c("eval-unknown-command", S("eval", "return redis.call('nosuch')", 0)),
    _c("eval-bad-argument-type", S("eval", "return redis.call('get', {})", 0),
       S("eval", "return redis.call()", 0)),
    _c("eval-compile-error", S("eval", "return x +", 0)),
    _c("eval-runtime-error", S("eval", "return nil + 1", 0), S("eval", "error('plain')", 0),
       S("eval", "error({err='TBL oops'})", 0)),
    _c("eval-globals-readonly", S("eval", "x = 1", 0)),
    _c("eval-hgetall-array", S("hset", "h", mapping={"a": 1, "b": 2}),
       S("eval", "return redis.call('hgetall', 'h')", 0)),
    _c("eval-tostring-numbers", S("eval", "return {tostring(0.1), tostring(10), 'a' .. 3}", 0)),
    _c("eval-decoded", S("eval", "return {'x', 1, redis.status_reply('OK')}", 0), decode=True),
    _c("script-load-evalsha", S("script_load", "return ARGV[1]"),
       S("evalsha", sha1hex("return ARGV[1]"), 0, "z"),
       S("evalsha", sha1hex("return ARGV[1]").upper(), 0, "upper-case sha")),
    _c("evalsha-after-load", S("script_load", "return {KEYS[1], ARGV[1]}"),
       S("evalsha", sha1hex("return {KEYS[1], ARGV[1]}"), 1, "k", "v")),
    _c("evalsha-noscript", S("evalsha", "ffffffffffffffffffffffffffffffffffffffff", 0)),
    _c("eval-caches-for-evalsha", S("eval", "return 'cached'", 0),
       S("script_exists", sha1hex("return 'cached'"), sha1hex("return 'never sent'"))),
    _c("eval-atomic-counter", S("eval", "local n = redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], 60000)"
                                        " return {n, redis.call('pttl', KEYS[1]) > 0 and 1 or 0}", 1, "c"),
       S("eval", "return redis.call('incrby', KEYS[1], ARGV[1])", 1, "c", 41)),
    # -- Redisson's RLock scripts ------------------------------------------------------------
    _c("redisson-lock-acquire", S("eval", REDISSON_LOCK, 1, LOCK, 30000, A), S("hgetall", LOCK),
       S("pttl", LOCK, _n="ms")),
    _c("redisson-lock-reentrant", S("eval", REDISSON_LOCK, 1, LOCK, 30000, A),
       S("eval", REDISSON_LOCK, 1, LOCK, 30000, A), S("hget", LOCK, A)),
    _c("redisson-lock-contended", S("eval", REDISSON_LOCK, 1, LOCK, 30000, A),
       S("eval", REDISSON_LOCK, 1, LOCK, 30000, B, _n="ms"), S("hexists", LOCK, B)),
    _c("redisson-unlock-non-owner", S("eval", REDISSON_LOCK, 1, LOCK, 30000, A),
       S("eval", REDISSON_UNLOCK, 2, LOCK, CH, 0, 30000, B), S("hget", LOCK, A)),
    _c("redisson-unlock-reentrant", S("pubsub.subscribe", CH), S("pubsub.get_message"),
       S("eval", REDISSON_LOCK, 1, LOCK, 30000, A), S("eval", REDISSON_LOCK, 1, LOCK, 30000, A),
       S("eval", REDISSON_UNLOCK, 2, LOCK, CH, 0, 30000, A), S("exists", LOCK),
       S("eval", REDISSON_UNLOCK, 2, LOCK, CH, 0, 30000, A), S("exists", LOCK), S("pubsub.get_message")),
    _c("redisson-unlock-missing-publishes", S("eval", REDISSON_UNLOCK, 2, LOCK, CH, 0, 30000, A)),
    _c("redisson-renew", S("eval", REDISSON_LOCK, 1, LOCK, 1000, A), S("eval", REDISSON_RENEW, 1, LOCK, 30000, A),
       S("pttl", LOCK, _n="ms"), S("eval", REDISSON_RENEW, 1, LOCK, 30000, B)),
    _c("redisson-lock-evalsha", S("script_load", REDISSON_LOCK),
       S("evalsha", sha1hex(REDISSON_LOCK), 1, LOCK, 30000, A)),
    # -- compare-and-delete (Redis docs) -----------------------------------------------------
    _c("compare-and-delete", S("set", "res", "tok1", nx=True, px=30000),
       S("eval", COMPARE_AND_DELETE, 1, "res", "tok2"), S("get", "res"),
       S("eval", COMPARE_AND_DELETE, 1, "res", "tok1"), S("exists", "res")),
    # -- Spring Cloud Gateway's rate limiter --------------------------------------------------
    _c("scg-rate-limiter-burst", *[S("eval", SCG_RATE_LIMITER, 2, "rl.{u}.tokens", "rl.{u}.timestamp",
                                     1, 3, 1000, 1) for _ in range(5)],
       S("pttl", "rl.{u}.tokens", _n="ms")),
    _c("scg-rate-limiter-refill", S("eval", SCG_RATE_LIMITER, 2, "t", "ts", 2, 4, 100, 4),
       S("eval", SCG_RATE_LIMITER, 2, "t", "ts", 2, 4, 100, 1),
       S("eval", SCG_RATE_LIMITER, 2, "t", "ts", 2, 4, 101, 1),
       S("eval", SCG_RATE_LIMITER, 2, "t", "ts", 2, 4, 101.25, 1), S("get", "ts"), S("get", "t")),
    _c("scg-rate-limiter-requested-over-capacity", S("eval", SCG_RATE_LIMITER, 2, "t", "ts", 10, 5, 7, 6)),
)
