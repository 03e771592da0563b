"""Beat sources: everything that produces :class:`dsp.types.Beat` objects."""
