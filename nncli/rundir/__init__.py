"""Run directories: their files (`directory`), checkpoints, and predictions of a trained run."""
