"""Sweeps: reading a multirun folder back, its summary table and plot, the end-of-sweep report,
the joblib launcher whose jobs fail alone."""
