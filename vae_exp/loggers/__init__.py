"""Where a run's scalars, hyperparameters and pictures go besides its own folder.

TensorBoard is the default; CSV, MLflow and Weights & Biases are chosen with
`logger=...` (several at once: `logger=[tensorboard,mlflow]`). MLflow and W&B
come with the optional extras `vae-exp[mlflow]` and `vae-exp[wandb]`.
"""
