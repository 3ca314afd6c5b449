"""Target profiles and target selection: what to check on a deployment and how to reach it."""
