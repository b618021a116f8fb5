"""Sweeps: reading a multirun folder back, its summary table and plot, the end-of-sweep report."""

from vae_exp.sweeps.summary import SweepSummary, summarize

__all__ = ["SweepSummary", "summarize"]
