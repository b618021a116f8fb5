"""The command-line tools: vae-exp-train, vae-exp-explore, vae-exp-evaluate, vae-exp-summarize."""
