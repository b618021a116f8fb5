"""`python -m vae_exp.export`: the `vae-exp-export` command, whose code is in vae_exp/cli/."""

from vae_exp.cli.export import main

if __name__ == "__main__":
    raise SystemExit(main())
