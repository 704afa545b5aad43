"""Lua scripts that real systems send to Redis, transcribed as data (protocol text).

They run unchanged on :class:`~dscourse.redis.RedisServer` (``EVAL``) and on a real Redis,
and ``tests/real`` checks that both give the same replies.

* ``REDISSON_LOCK``, ``REDISSON_UNLOCK``, ``REDISSON_RENEW``: Redisson's reentrant lock
  (``RedissonLock.tryLockInnerAsync``, ``unlockInnerAsync``/``unlock`` and
  ``renewExpirationAsync`` in ``redisson/src/main/java/org/redisson/RedissonLock.java``,
  github.com/redisson/redisson, 3.x). ``KEYS[1]`` is the lock's hash, ``KEYS[2]`` its pub/sub
  channel; ``ARGV`` is (lease ms, "<client uuid>:<thread id>") for lock and renewal, and
  (unlock message, lease ms, owner) for unlock. Lock replies nil when acquired, else the
  holder's remaining PTTL; unlock replies nil when the caller is not the owner, 0 while the
  reentrant count is still positive, 1 when released (and publishes on the channel).
* ``COMPARE_AND_DELETE``: the safe release from the Redis docs, "Distributed Locks with
  Redis" (delete the key only if it still holds my random token).
* ``SCG_RATE_LIMITER``: Spring Cloud Gateway's token bucket
  (``spring-cloud-gateway-server-webflux/src/main/resources/META-INF/scripts/request_rate_limiter.lua``,
  github.com/spring-cloud/spring-cloud-gateway). ``KEYS`` = (tokens key, timestamp key),
  ``ARGV`` = (rate per s, capacity, now in s or empty to use ``TIME``, requested); it replies
  ``{allowed 1|0, tokens left}``. Chapter 13 uses it.
"""

# Source: Redisson, RedissonLock.java, tryLockInnerAsync.
REDISSON_LOCK = (
    "if (redis.call('exists', KEYS[1]) == 0) then "
    "redis.call('hset', KEYS[1], ARGV[2], 1); "
    "redis.call('pexpire', KEYS[1], ARGV[1]); "
    "return nil; "
    "end; "
    "if (redis.call('hexists', KEYS[1], ARGV[2]) == 1) then "
    "redis.call('hincrby', KEYS[1], ARGV[2], 1); "
    "redis.call('pexpire', KEYS[1], ARGV[1]); "
    "return nil; "
    "end; "
    "return redis.call('pttl', KEYS[1]);"
)

# Source: Redisson, RedissonLock.java, unlock / unlockInnerAsync.
REDISSON_UNLOCK = (
    "if (redis.call('exists', KEYS[1]) == 0) then "
    "redis.call('publish', KEYS[2], ARGV[1]); "
    "return 1; "
    "end;"
    "if (redis.call('hexists', KEYS[1], ARGV[3]) == 0) then "
    "return nil;"
    "end; "
    "local counter = redis.call('hincrby', KEYS[1], ARGV[3], -1); "
    "if (counter > 0) then "
    "redis.call('pexpire', KEYS[1], ARGV[2]); "
    "return 0; "
    "else "
    "redis.call('del', KEYS[1]); "
    "redis.call('publish', KEYS[2], ARGV[1]); "
    "return 1; "
    "end; "
    "return nil;"
)

# Source: Redisson, RedissonLock.java, renewExpirationAsync (the watchdog's renewal).
REDISSON_RENEW = (
    "if (redis.call('hexists', KEYS[1], ARGV[2]) == 1) then "
    "redis.call('pexpire', KEYS[1], ARGV[1]); "
    "return 1; "
    "end; "
    "return 0;"
)

# Redisson's LockPubSub.unlockMessage (0L): what REDISSON_UNLOCK publishes.
REDISSON_UNLOCK_MESSAGE = 0

# Source: Redis docs, "Distributed Locks with Redis", "Correct Implementation with a Single Instance".
COMPARE_AND_DELETE = """\
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
else
    return 0
end"""

# Source: Spring Cloud Gateway, request_rate_limiter.lua (server-webflux).
SCG_RATE_LIMITER = """\
redis.replicate_commands()

local tokens_key = KEYS[1]
local timestamp_key = KEYS[2]

local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])

local now = tonumber(ARGV[3])
if not now then
  local redis_time = redis.call('TIME')
  now = redis_time[1] + (redis_time[2] / 1000000)
end

local requested = tonumber(ARGV[4])

local fill_time = capacity / rate
local ttl = math.floor(fill_time * 2)

local last_tokens = tonumber(redis.call("get", tokens_key)) or capacity
local last_refreshed = tonumber(redis.call("get", timestamp_key)) or 0

local delta = math.max(0, now-last_refreshed)
local filled_tokens = math.min(capacity, last_tokens+(delta*rate))
local allowed = filled_tokens >= requested
local new_tokens = allowed and filled_tokens - requested or filled_tokens

if ttl > 0 then
  redis.call("setex", tokens_key, ttl, new_tokens)
  redis.call("setex", timestamp_key, ttl, now)
end

return { allowed and 1 or 0, new_tokens }"""
