"""``EVAL`` with real Lua 5.1 (through ``lupa``), as Redis runs it.

Redis docs, "Scripting with Lua" and "Lua API reference": a script sees ``KEYS`` and ``ARGV``
(tables of strings) and the ``redis`` library (``call``, ``pcall``, ``error_reply``,
``status_reply``, ``sha1hex``, ``log``, ``replicate_commands``); it runs atomically: the
server executes nothing else until it returns, which here means the whole script runs inside
one simulation event. Globals are read-only, as in Redis 7.

Conversion rules ("Data type conversion"):

* reply -> Lua: integer -> number; bulk string -> string; array -> table; status ->
  ``{ok=...}``; error -> ``{err=...}`` (``pcall`` returns it, ``call`` raises it); nil -> false.
* Lua -> reply: number -> integer (truncated); string -> bulk string; table with ``ok`` ->
  status; table with ``err`` -> error; other table -> array up to the first nil; false and nil
  -> nil; true -> integer 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import lupa.lua51 as lua51

from .values import RedisError, Status

# Runs once per runtime: the ``redis`` table, a loader naming chunks ``user_script`` as Redis
# does, and the read-only globals of Redis 7.
_PRELUDE = r"""
local dispatch, sha1hex, status, rerr = ...
local pending = {}
local getinfo = debug.getinfo
-- what Redis leaves out of its sandbox (and what would read the host: files, wall clock)
io, os, debug, dofile, loadfile, require, module, package = nil, nil, nil, nil, nil, nil, nil, nil
local function fail(message)
  pending.err = message
  pending.line = 1
  for level = 2, 30 do  -- the line of the user's script that called redis.call
    local info = getinfo(level, 'Sl')
    if info == nil then break end
    if info.source == '@user_script' then pending.line = info.currentline break end
  end
  error(message, 0)
end
redis = {}
local function run(raise, ...)
  local n = select('#', ...)
  if n == 0 then
    fail('ERR Please specify at least one argument for this redis lib call')
  end
  local args = {}
  for i = 1, n do
    local a = select(i, ...)
    local t = type(a)
    if t == 'number' then a = tostring(a) elseif t ~= 'string' then
      fail('ERR Lua redis lib command arguments must be strings or integers')
    end
    args[i] = a
  end
  local reply = dispatch(args, n)
  if raise and type(reply) == 'table' and reply.err ~= nil then
    fail(reply.err)
  end
  return reply
end
redis.call = function(...) return run(true, ...) end
redis.pcall = function(...) return run(false, ...) end
redis.sha1hex = sha1hex
redis.status_reply = function(s) return {ok = s} end
redis.error_reply = function(s) return {err = s} end
redis.replicate_commands = function() return true end
redis.set_repl = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.log = function() end
local function load(body)
  return loadstring(body, '@user_script')
end
local function take_pending()
  local e, line = pending.err, pending.line
  pending.err, pending.line = nil, nil
  return e, line
end
local function run_script(f, keys, argv)
  rawset(_G, 'KEYS', keys)
  rawset(_G, 'ARGV', argv)
  local ok, result = pcall(f)
  if ok then return true, result end
  local redis_err, line = take_pending()
  if redis_err ~= nil then return false, redis_err, true, line end
  if type(result) == 'table' and result.err ~= nil then return false, result.err, true, 1 end
  local message = tostring(result)
  return false, message, false, tonumber(string.match(message, '^user_script:(%d+):')) or 1
end
setmetatable(_G, {__newindex = function() error('Attempt to modify a readonly table', 2) end})
return load, run_script
"""


class LuaEngine:
    """One server's Lua interpreter and script cache (lost on restart, as in Redis)."""

    def __init__(self, execute: Callable[..., Any]) -> None:
        self._execute = execute
        self._lua = lua51.LuaRuntime(unpack_returned_tuples=False)
        prelude = self._lua.execute(_PRELUDE, self._dispatch, sha1hex, None, None)
        self._load, self._run = prelude
        self.scripts: dict[str, Any] = {}

    # -- the script cache ------------------------------------------------------------------
    def load(self, body: str) -> str:
        """``SCRIPT LOAD``: compile and cache ``body``; returns its SHA1 (hex)."""
        sha = sha1hex(body)
        if sha not in self.scripts:
            compiled = self._load(body)
            fn = compiled[0] if isinstance(compiled, tuple) else compiled
            if fn is None:
                message = compiled[1] if isinstance(compiled, tuple) else "syntax error"
                raise RedisError(f"ERR Error compiling script (new function): {message}")
            self.scripts[sha] = fn
        return sha

    def run(self, sha: str, keys: list[str], argv: list[str]) -> Any:
        """Run a cached script; returns the reply value or raises :class:`RedisError`."""
        fn = self.scripts.get(sha)
        if fn is None:
            raise RedisError("NOSCRIPT No matching script. Please use EVAL.")
        out = self._run(fn, self._lua.table_from(keys), self._lua.table_from(argv))
        ok, value = out[0], out[1]
        if ok:
            return to_reply(value)
        where = f"script: {sha}, on @user_script:{int(out[3])}."
        if out[2]:  # an error reply raised by redis.call or error({err=...})
            raise RedisError(f"{value} {where}")
        raise RedisError(f"ERR {value} {where}")

    # -- redis.call / redis.pcall ----------------------------------------------------------
    def _dispatch(self, args: Any, n: int) -> Any:
        words = [args[i] for i in range(1, int(n) + 1)]
        try:
            return self._to_lua(self._execute(*words, from_script=True))
        except RedisError as exc:
            return self._lua.table(err=str(exc))

    def _to_lua(self, value: Any) -> Any:
        if value is None:
            return False
        if isinstance(value, Status):
            return self._lua.table(ok=str(value))
        if isinstance(value, (list, tuple)):
            return self._lua.table_from([self._to_lua(v) for v in value])
        return value


def sha1hex(body: Any) -> str:
    data = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else bytes(body)
    return hashlib.sha1(data).hexdigest()


def to_reply(value: Any) -> Any:
    """Convert a Lua value returned by a script into a reply value (module docstring)."""
    if value is None or value is False:
        return None
    if value is True:
        return 1
    if isinstance(value, float):
        return int(value)
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if lua51.lua_type(value) == "table":
        err = value["err"]
        if err is not None:
            raise RedisError(str(err))
        ok = value["ok"]
        if ok is not None:
            return Status(str(ok))
        out = []
        i = 1
        while (item := value[i]) is not None:
            out.append(to_reply(item))
            i += 1
        return out
    return None
