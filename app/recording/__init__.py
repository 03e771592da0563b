"""Crash-safe XDF recording of a session (the format itself is :mod:`sensors.xdf`)."""
