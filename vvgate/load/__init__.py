"""The load gate: the run's shape and caps, Locust as a subprocess, its figures, and the SLO
verdicts per endpoint and against a baseline."""
