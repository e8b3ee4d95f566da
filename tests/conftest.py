"""Shared test settings: a hypothesis profile with no deadline (the machine is shared), no
fetching from the internet (the tests that fetch serve their files from 127.0.0.1 and clear
``ASGD_OFFLINE`` themselves, tests/real_exec/data/test_fetch.py), and Ctrl-C handled as in a
terminal: a shell that starts a job in the background without job control makes it ignore
SIGINT, and Python then leaves it ignored, so the interrupt tests would test nothing."""

import os
import signal

from hypothesis import settings

os.environ["ASGD_OFFLINE"] = "1"

settings.register_profile("default", deadline=None, max_examples=100)
settings.load_profile("default")

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # children started from here inherit it
    signal.signal(signal.SIGINT, signal.default_int_handler)
