"""Synchrony of two people, online: the shared 4-Hz grid, the live index and the session test.

The batch entry points over the pipeline are in :mod:`dsp.synchrony`.
"""
