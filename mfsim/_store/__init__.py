"""The results store: a run directory's files (results, point files, merge,
checkpoints, provenance), written atomically; reading finished runs back."""
