"""`python -m vae_exp.summarize`: the `vae-exp-summarize` command, whose code is in vae_exp/cli/."""

from vae_exp.cli.summarize import main

if __name__ == "__main__":
    raise SystemExit(main())
