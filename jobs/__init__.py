"""Orchestration: dramatiq actors, broker selection, the scheduler and the daemon."""
