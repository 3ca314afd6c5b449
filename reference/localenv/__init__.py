"""`vvgate local`: run the reference target on this machine behind Traefik TLS."""
