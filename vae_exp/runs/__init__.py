"""Run bookkeeping: layout, locations, claims, records, checkpoints, resume, checks, errors."""
