"""The names of what a run folder holds: one place for the trainer, the tools and the records.

A run folder is self-contained: everything below refers to a path relative to
the folder itself, so a moved or copied run still works.
"""

from __future__ import annotations

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
INTERRUPTED_CHECKPOINT = "interrupted.ckpt"
FIGURES_DIR = "figures"
CONFIG_FILE = "config.yaml"
RESULTS_FILE = "results.json"
EVALUATION_FILE = "evaluation.json"
LOG_FILE = "train.log"
METRICS_FILE = "metrics.csv"  # logger=csv
HPARAMS_FILE = "hparams.yaml"  # what the loggers were given as hyperparameters
RUNS_DIR = "runs"
SWEEPS_DIR = "multirun"
CLAIM_FILE = ".vae-exp-claim"  # marks a run or sweep folder as taken; locked while a run uses it
MULTIRUN_FILE = "multirun.yaml"  # a sweep's config, as Hydra saves it
STUDY_FILE = "study.db"  # a search's own Optuna storage, when its processes must share one
# A search trial's callback that reports to its study; a resumed trial is a run of its own.
TRIAL_PRUNING_CALLBACK = "trial_pruning"
