"""Shipped hardware profiles (TOML); see docs/simulator.md for where their numbers come from."""
