"""The frontend: the SPA's index.html with history fallback and immutable hashed assets."""
