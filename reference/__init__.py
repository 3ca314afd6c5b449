"""Reference Vinyl Vault: a compact, secure-by-default implementation of the contract.

It is a separate program from the gate suite: nothing here imports `vvgate` or
`fixtures`, and the suite never imports this package. It is not installed; it runs from the
checkout.
"""
