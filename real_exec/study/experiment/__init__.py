"""Convergence experiments: a grid of real runs to a target, repeated, with statistics."""
