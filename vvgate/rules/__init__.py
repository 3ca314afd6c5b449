"""Static rules: over rendered manifests (`manifest/`, one module per rule family) and over an
application checkout (`app_repo`), turned into one case per rule and subject (`engine`)."""
