"""A target's Kubernetes API: the one guarded client, Kustomize rendering, deploy and
readiness, throwaway namespaces, port-forwards and the evidence a failed check keeps."""
