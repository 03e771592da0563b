"""Composition root: configuration, the engine, sinks and the command line."""
