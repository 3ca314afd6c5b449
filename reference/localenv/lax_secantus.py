"""SecantusDB for the mongo-any-password fault, started with secantusd-py's own flags.

The server still runs the SCRAM conversation, but takes a wrong client proof for a user that
exists. Its reply proves the server's stored key, which a client holding the wrong password
rejects; by then the server has already marked the connection authenticated.
"""

from __future__ import annotations

import base64
import hmac
import sys
from typing import Any

from secantus import auth, commands
from secantus.cli import main

_checked = auth.continue_scram


def _unchecked(state: Any, payload: bytes) -> bytes:
    try:
        result: bytes = _checked(state, payload)
        return result
    except auth.AuthError:
        if not state.user_exists:
            raise
    without_proof = b",".join(p for p in payload.split(b",") if not p.startswith(b"p="))
    message = state.client_first_bare + b"," + state.server_first + b"," + without_proof
    digest = auth._hash_for(state.creds.mechanism)
    signature = hmac.new(state.creds.server_key, message, digest).digest()
    state.step = 2
    return b"v=" + base64.b64encode(signature)


if __name__ == "__main__":
    commands.continue_scram = _unchecked  # the name the saslContinue handler calls
    sys.exit(main())
