"""Grading beyond one machine: Slurm job arrays over the shards of a batch."""
