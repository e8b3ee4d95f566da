"""A compiled discrete-event engine for lock-based SGD and Leashed-SGD.

SimPy runs each worker as a generator; here each worker is a state machine
(:mod:`~staleness_sim.compiled.lock`, :mod:`~staleness_sim.compiled.leashed`) and the event
queue a heap of ``(time, id)`` (:mod:`~staleness_sim.compiled.heap`), both compiled with
numba. Events are scheduled and ordered as SimPy schedules and orders them, and durations
come from the same random streams, so the Trace is the SimPy engine's, bit for bit.
"""
