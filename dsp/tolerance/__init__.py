"""The window of tolerance, online: the resting baseline, the zones and the arousal index.

The batch entry points over the pipeline are in :mod:`dsp.arousal`.
"""
