"""Training: the loop, the job the CLI and notebooks run, recipes, weights files and model cards."""
