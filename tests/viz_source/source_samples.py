"""Fixtures for tests/viz_source: small objects with known source."""

from __future__ import annotations

import functools


def add(a: int, b: int) -> int:
    """Add two numbers."""
    total = a + b
    return total


def traced(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@traced
def decorated(x: int) -> int:
    return x * 2  # the decorated body


class Acceptor:
    """A toy acceptor."""

    def __init__(self) -> None:
        self.promised = 0

    def on_prepare(self, ballot: int) -> bool:
        if ballot > self.promised:
            self.promised = ballot
            return True
        return False

    def on_accept(self, ballot: int) -> bool:
        return ballot >= self.promised

    @property
    def state(self) -> int:
        return self.promised

    @staticmethod
    def kind() -> str:
        return "acceptor"
