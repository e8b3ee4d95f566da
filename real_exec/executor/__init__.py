"""The executor: real threads running asynchronous SGD on this machine.

Threads, the algorithms' compiled worker loops, the workloads (models, data, gradient
kernels), the atomics and the recording of every update as a Trace. It imports only
:mod:`theory` and itself (``tests/test_architecture.py``); the study built on it
(:mod:`real_exec.study`) and the application (:mod:`real_exec.app`) import it.
"""
