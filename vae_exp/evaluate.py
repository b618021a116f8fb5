"""`python -m vae_exp.evaluate`: the `vae-exp-evaluate` command, whose code is in vae_exp/cli/."""

from vae_exp.cli.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
