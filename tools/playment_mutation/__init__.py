"""`make mutation`'s memory: the verdicts of the last run, kept in the repository."""
