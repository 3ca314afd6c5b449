"""A target's Kubernetes API: the one guarded client, Kustomize rendering, deploy (or, on
production, observe) and readiness, the gate's own objects and their janitor, port-forwards
and the evidence a failed check keeps."""
