"""The LATENT tab: a TensorBoard plugin that decodes a trained run's latent vectors live."""
