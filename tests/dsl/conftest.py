"""The language's tests use a modest hypothesis profile so property tests run in seconds;
``HYPOTHESIS_PROFILE=dsl-deep`` runs many more examples, for a hunt before a release."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dsl", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dsl-deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dsl"))
