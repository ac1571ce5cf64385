"""Synthetic traffic and load generation against a gateway."""
