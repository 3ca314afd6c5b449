"""The release gates: the catalogue, the pytest plugin that files every check under one gate,
and the verdicts (severities, waivers) a run's outcomes add up to."""
