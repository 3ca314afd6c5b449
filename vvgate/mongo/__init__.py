"""MongoDB: the BFF's session store, the backend's registry and tenant databases."""
