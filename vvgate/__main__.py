"""`python -m vvgate` is the `vvgate` command."""

import sys

from vvgate.cli.main import main

sys.exit(main())
