"""A stand-in for GitHub's OAuth endpoints: the one mock of the local target (see app.py)."""
