"""Regulated breathing: the pacer session, live feedback and the resonance assessment."""
