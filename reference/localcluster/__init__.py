"""A local Kubernetes control plane for the local target: `vvgate local up --cluster`."""
