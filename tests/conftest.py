"""Shared test settings: a hypothesis profile with no deadline (the machine is shared), and no
fetching from the internet: the tests that fetch serve their files from 127.0.0.1 and clear
``ASGD_OFFLINE`` themselves (tests/real_exec/data/test_fetch.py)."""

import os

from hypothesis import settings

os.environ["ASGD_OFFLINE"] = "1"

settings.register_profile("default", deadline=None, max_examples=100)
settings.load_profile("default")
