"""Model engines, chosen by name from workers/paths.yaml through an explicit registry."""
