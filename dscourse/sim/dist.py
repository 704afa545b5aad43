"""Latency distributions, in milliseconds.

Each distribution samples from a zero-argument source of U[0, 1) floats by inverse transform
(or Box-Muller), so draws depend only on numpy's stable uniform bit stream. Any number given
where a distribution is expected means :class:`Constant`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import allowed
from .errors import NegativeDelayError

UniformSource = Callable[[], float]


def _non_negative(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise allowed(what, value, "a finite number of milliseconds")
    if value < 0:
        raise NegativeDelayError(f"{what}={value!r} is not allowed: expected >= 0 ms")
    return float(value)


def _positive(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise allowed(what, value, "a finite number > 0")
    return float(value)


class Dist(ABC):
    """Base class: ``sample(uniform) -> ms``; ``constant`` is the fixed value or ``None``."""

    constant: float | None = None

    @abstractmethod
    def sample(self, uniform: UniformSource) -> float:
        """Draw one latency in milliseconds."""

    @property
    @abstractmethod
    def mean(self) -> float:
        """The distribution's mean in milliseconds (``inf`` when it has none)."""


@dataclass(frozen=True)
class Constant(Dist):
    """Always ``ms``."""

    ms: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "ms", _non_negative("Constant(ms)", self.ms))

    @property
    def constant(self) -> float:  # type: ignore[override]
        return self.ms

    def sample(self, uniform: UniformSource) -> float:
        return self.ms

    @property
    def mean(self) -> float:
        return self.ms


@dataclass(frozen=True)
class Uniform(Dist):
    """Uniform on [lo, hi) milliseconds."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        lo = _non_negative("Uniform(lo)", self.lo)
        hi = _non_negative("Uniform(hi)", self.hi)
        if hi < lo:
            raise allowed("Uniform(hi)", self.hi, f"hi >= lo={self.lo!r}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def sample(self, uniform: UniformSource) -> float:
        return self.lo + (self.hi - self.lo) * uniform()

    @property
    def mean(self) -> float:
        return (self.lo + self.hi) / 2


@dataclass(frozen=True)
class UniformInt(Dist):
    """A whole number of milliseconds, uniform on ``lo..hi`` inclusive (labrpc's ``rand.Int() % 27``)."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        for what, v in (("UniformInt(lo)", self.lo), ("UniformInt(hi)", self.hi)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise allowed(what, v, "an int number of milliseconds")
            _non_negative(what, v)
        if self.hi < self.lo:
            raise allowed("UniformInt(hi)", self.hi, f"hi >= lo={self.lo!r}")

    def sample(self, uniform: UniformSource) -> float:
        return float(self.lo + int(uniform() * (self.hi - self.lo + 1)))

    @property
    def mean(self) -> float:
        return (self.lo + self.hi) / 2


@dataclass(frozen=True)
class Exponential(Dist):
    """``shift`` plus an exponential with the given ``mean`` (memoryless queueing delay)."""

    mean_ms: float
    shift: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean_ms", _positive("Exponential(mean_ms)", self.mean_ms))
        object.__setattr__(self, "shift", _non_negative("Exponential(shift)", self.shift))

    def sample(self, uniform: UniformSource) -> float:
        return self.shift - self.mean_ms * math.log1p(-uniform())

    @property
    def mean(self) -> float:
        return self.shift + self.mean_ms


@dataclass(frozen=True)
class LogNormal(Dist):
    """Long-tailed: ``exp(N(log(median), sigma))`` ms, the usual fit for datacenter RPC latency."""

    median: float
    sigma: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "median", _positive("LogNormal(median)", self.median))
        object.__setattr__(self, "sigma", _non_negative("LogNormal(sigma)", self.sigma))

    def sample(self, uniform: UniformSource) -> float:
        u1, u2 = uniform(), uniform()
        z = math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)
        return self.median * math.exp(self.sigma * z)

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma ** 2 / 2)


@dataclass(frozen=True)
class Pareto(Dist):
    """Heavy-tailed: at least ``scale`` ms, ``P(X > x) = (scale / x) ** alpha``."""

    scale: float
    alpha: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", _positive("Pareto(scale)", self.scale))
        object.__setattr__(self, "alpha", _positive("Pareto(alpha)", self.alpha))

    def sample(self, uniform: UniformSource) -> float:
        return self.scale / (1.0 - uniform()) ** (1.0 / self.alpha)

    @property
    def mean(self) -> float:
        return math.inf if self.alpha <= 1 else self.alpha * self.scale / (self.alpha - 1)


@dataclass(frozen=True)
class LabrpcLongDelay(Dist):
    """labrpc's long reordering delay: ``200 + rand.Intn(1 + rand.Intn(2000))`` ms.

    From MIT 6.5840's ``labrpc.go`` (``processReq``), applied there to about 2/3 of replies
    when long reordering is on.
    """

    def sample(self, uniform: UniformSource) -> float:
        inner = int(uniform() * 2000)
        return 200.0 + int(uniform() * (1 + inner))

    @property
    def mean(self) -> float:
        return 200.0 + 999.5 / 2


def as_dist(value: Dist | float | int, what: str = "latency") -> Dist:
    """``value`` itself if it is a :class:`Dist`, :class:`Constant` for a number, else an error."""
    if isinstance(value, Dist):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Constant(value)
    raise allowed(what, value, "a Dist (Constant, Uniform, UniformInt, Exponential, LogNormal, "
                  "Pareto, LabrpcLongDelay) or a number of milliseconds")
