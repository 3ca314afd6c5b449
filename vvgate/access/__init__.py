"""Reaching a target's public surface: HTTPS as a browser sees it, the contract's GraphQL
operations, the TLS scan, and which peer the non-tls checks may trust."""
