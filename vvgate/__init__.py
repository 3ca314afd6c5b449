"""vinylvault-gate: the release-gate engine behind the suites, their fixtures and `vvgate`.

One subpackage per part of the engine:

- `targets`  target profiles, their secrets, the preflight that reaches a target
- `gates`    the gate catalogue, the pytest plugin that keeps gate books, verdicts, waivers
- `report`   gates.json, the HTML and terminal summaries, SARIF, evidence and redaction
- `access`   HTTPS, GraphQL and TLS to a target, and which peer a check may trust
- `kube`     the guarded Kubernetes client, rendering, deployment, readiness, evidence
- `mongo`    MongoDB clients for the session store, registry and tenant databases
- `identity` forged sessions and the synthetic users the live checks act as
- `rules`    static rules over rendered manifests and an application checkout
- `load`     the load gate: run shape, the Locust subprocess, figures and SLO verdicts
- `cli`      the `vvgate` command

Checks themselves live in `suites/`; the pytest fixtures that hand these parts to the checks
live in the checkout's `fixtures/`, outside this package.
"""
