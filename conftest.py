"""Wires the gate plugin (vvgate.gates.plugin) and the suites' fixtures (fixtures/) into every
pytest run of this tree."""

from fixtures import PLUGINS

pytest_plugins = ["vvgate.gates.plugin", *PLUGINS]
