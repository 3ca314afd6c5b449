"""Wires the gate plugin (fixtures.plugin) into every pytest run of this tree."""

pytest_plugins = ["fixtures.plugin"]
