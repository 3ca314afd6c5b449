"""The backend: GraphQL behind an HS256 JWT from the BFF, plus /health."""
