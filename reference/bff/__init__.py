"""The BFF: sessions, OAuth entry points, the webhook and the public /graphql."""
