"""Hostile and broken submissions graded end to end (see README.md)."""
