"""The `vvgate` command: run the gate, list targets, run the load gate, drive the local target."""
