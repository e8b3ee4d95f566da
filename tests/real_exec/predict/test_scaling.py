"""The budget of a scaling forecast: updates turned into simulated seconds."""

from __future__ import annotations

import pytest

from real_exec.study.predict.scaling import budget_for
from staleness_sim.profile import HardwareProfile


def test_budget_gives_every_busy_worker_its_share_of_the_updates() -> None:
    profile = HardwareProfile().with_overrides(
        compute="const:0.004", read="const:0.0005", publish="const:0.0005"
    )
    assert budget_for(profile, 1, 1000) == pytest.approx(5.0)  # 1000 updates x 5 ms
    assert budget_for(profile, 10, 1000) == pytest.approx(0.5)
    capped = profile.with_overrides(cores=4)
    assert budget_for(capped, 10, 1000) == pytest.approx(1.25)  # only 4 cores compute at once
    with pytest.raises(ValueError, match="max_updates"):
        budget_for(profile, 4, 0)
