"""Run bookkeeping: a run folder's layout and locations, claims and locks, records,
checkpoints, containment of received folders, and resume."""
