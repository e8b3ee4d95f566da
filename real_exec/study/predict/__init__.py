"""Prediction: replay training in a simulated schedule to forecast time to target."""
