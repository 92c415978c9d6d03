"""Carry out a plan: fetch wheels, build sdists through routes, repair, verify, place."""
