"""`python -m vae_exp.explore`: the `vae-exp-explore` command, whose code is in vae_exp/cli/."""

from vae_exp.cli.explore import main

if __name__ == "__main__":
    raise SystemExit(main())
