"""A local Kubernetes control plane for the local target: `vvgate local up --cluster`; with
`--node`, one real node beside its kwok nodes (node/)."""
