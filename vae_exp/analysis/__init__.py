"""Latent-space analysis: which vectors to decode, statistics, likelihood estimates and pictures.

Pure functions on tensors, shared by the callbacks, the command-line tools and the tests.
"""
