from __future__ import annotations

import numpy as np
import pytest

from theory.problems import known_problem


def test_unknown_known_problem() -> None:
    with pytest.raises(ValueError, match="problem must be one of"):
        known_problem("cifar", np.random.default_rng(0))
