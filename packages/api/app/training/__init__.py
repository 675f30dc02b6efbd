"""The training domain: the catalog mirror and the checks a job must pass."""
