"""`python -m vae_exp.train`: the `vae-exp-train` command, whose code is in vae_exp/cli/."""

from vae_exp.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
