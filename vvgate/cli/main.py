"""The `vvgate` entry point. `vvgate local ...` is handed to the local target's own program
at once; everything else loads the gate's commands (pytest and all) first."""

from __future__ import annotations

import os
import subprocess
import sys

from vvgate.errors import ConfigError
from vvgate.paths import PROJECT_ROOT

# The reference target is not installed: it runs from the checkout, as a program.
LOCAL_ENV_MODULE = "reference.localenv"
LOCAL_ENV_DIR = PROJECT_ROOT / "reference" / "localenv"


def run_local(args: list[str]) -> int:
    # The suite never imports the reference target; it runs it as a program.
    if not (LOCAL_ENV_DIR / "__main__.py").is_file():
        raise ConfigError("the local target is not installed (reference/localenv missing)")
    return subprocess.call([sys.executable, "-m", LOCAL_ENV_MODULE, *args], cwd=PROJECT_ROOT)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["local"]:
            return run_local(argv[1:])
        from vvgate.cli import gate_commands

        return gate_commands.main(argv)
    except ConfigError as exc:
        print(f"vvgate: error: {exc.one_line()}", file=sys.stderr)
        return ConfigError.exit_code
    except KeyboardInterrupt:
        print("vvgate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) left: stop quietly, as a Unix filter does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
