"""genroute: route text generation between a diffusion LM and an autoregressive LLM."""

__version__ = "0.1.0"
