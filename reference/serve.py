"""Run an ASGI app with uvicorn's graceful SIGTERM handling: on loopback in the process
target, on every address in a pod (reference/runtime.py says which).

uvicorn stops accepting on SIGTERM, lets in-flight requests finish (bounded below the
Kubernetes 30 s grace period), runs the lifespan shutdown that closes Mongo, and exits 0.
"""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp


def run(app: ASGIApp, port: int, host: str = "127.0.0.1", log_level: str = "info") -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,  # helmet-equivalent: do not advertise the server software
        proxy_headers=False,  # trust exactly one hop ourselves (see bff.security.client_ip)
        timeout_graceful_shutdown=25,
        lifespan="on",
    )
    uvicorn.Server(config).run()
