"""Helpers that tests hand to vae-exp's commands (importable with tests/ on PYTHONPATH)."""
