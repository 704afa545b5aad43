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
local call, pcall_, sha1hex = ...
local getinfo = debug.getinfo
-- what Redis leaves out of its sandbox (and what would read the host: files, wall clock)
io, os, debug, dofile, loadfile, require, module, package = nil, nil, nil, nil, nil, nil, nil, nil
redis = {}
redis.call = call     -- Python callables: like Redis's C functions they keep the caller's frame
redis.pcall = pcall_  -- even in a tail call, so an error names the script's line
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
local function line()
  for level = 1, 40 do
    local info = getinfo(level, 'Sl')
    if info == nil then break end
    if info.source == '@user_script' then return info.currentline end
  end
  return 1
end
local function run_script(f, keys, argv)
  rawset(_G, 'KEYS', keys)
  rawset(_G, 'ARGV', argv)
  local ok, result = pcall(f)
  if ok then return true, result end
  if type(result) == 'table' and result.err ~= nil then return false, result.err, true, 1 end
  local message = tostring(result)
  return false, message, false, tonumber(string.match(message, '^user_script:(%d+):')) or 1
end
setmetatable(_G, {__newindex = function() error('Attempt to modify a readonly table', 2) end})
return load, run_script, line
"""


class LuaEngine:
    """One server's Lua interpreter and script cache (lost on restart, as in Redis)."""

    def __init__(self, execute: Callable[..., Any]) -> None:
        self._execute = execute
        self._lua = lua51.LuaRuntime(unpack_returned_tuples=False)
        self._pending: tuple[str, int] | None = None
        prelude = self._lua.execute(_PRELUDE, self._call, self._pcall, sha1hex)
        self._load, self._run, self._line = prelude
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
        self._pending = None
        out = self._run(fn, self._lua.table_from(keys), self._lua.table_from(argv))
        ok, value = out[0], out[1]
        if ok:
            return to_reply(value)
        if self._pending is not None:  # redis.call failed: Redis reports the command's error
            message, line = self._pending
            self._pending = None
            raise RedisError(f"{message} script: {sha}, on @user_script:{line}.")
        where = f"script: {sha}, on @user_script:{int(out[3])}."
        if out[2]:  # an error reply raised by redis.call or error({err=...})
            raise RedisError(f"{value} {where}")
        raise RedisError(f"ERR {value} {where}")

    # -- redis.call / redis.pcall ----------------------------------------------------------
    def _command(self, args: tuple[Any, ...]) -> list[str]:
        if not args:
            raise RedisError("ERR Please specify at least one argument for this redis lib call")
        words = []
        for a in args:
            if isinstance(a, bool) or not isinstance(a, (int, float, str, bytes)):
                raise RedisError("ERR Lua redis lib command arguments must be strings or integers")
            # Redis formats a Lua number argument with "%.17g" (its luaconf.h)
            words.append(format(a, ".17g") if isinstance(a, (int, float)) else to_reply(a))
        return words

    def _call(self, *args: Any) -> Any:
        """``redis.call``: a command's reply, or the error raised as a Lua error."""
        try:
            return self._to_lua(self._execute(*self._command(args), from_script=True))
        except RedisError as exc:
            self._pending = (str(exc), int(self._line()))
            raise

    def _pcall(self, *args: Any) -> Any:
        """``redis.pcall``: a command's reply, or its error as ``{err=...}``."""
        try:
            return self._to_lua(self._execute(*self._command(args), from_script=True))
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
