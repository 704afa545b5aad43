"""Checkers that judge what a simulated system did: linearizability, invariants, exploration."""

from . import linearizability

__all__ = ["linearizability"]
