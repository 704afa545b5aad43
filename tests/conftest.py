"""Shared pytest configuration: one hypothesis profile for the whole suite.

Property tests are derandomized so that a failure on CI reproduces locally; they still try
many generated cases per run, and deadlines are off because the machines are noisy.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dscourse",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("dscourse")
