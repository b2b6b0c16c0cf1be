"""The language's tests use a modest hypothesis profile so property tests run in seconds."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dsl",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("dsl")
