"""Offline analysis of a recording and bounded whole-session statistics."""
