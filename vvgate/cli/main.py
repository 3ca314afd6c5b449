"""The `vvgate` entry point. `vvgate local ...` is handed to the local target's own program
at once; everything else loads the gate's commands (pytest and all) first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from vvgate.errors import ConfigError
from vvgate.lifetime import dies_with_parent
from vvgate.paths import PROJECT_ROOT

# The reference target is not installed: it runs from the checkout, as a program.
LOCAL_ENV_MODULE = "reference.localenv"
LOCAL_ENV_DIR = PROJECT_ROOT / "reference" / "localenv"


def run_local(args: list[str]) -> int:
    # The suite never imports the reference target; it runs it as a program.
    if not (LOCAL_ENV_DIR / "__main__.py").is_file():
        raise ConfigError("the local target is not installed (reference/localenv missing)")
    argv = [sys.executable, "-m", LOCAL_ENV_MODULE, *args]
    if _vvgate_is_the_program():
        # Become the program rather than its parent: a kill of `vvgate local up` then ends
        # `up` itself, and Ctrl-C or SIGTERM reach it alone, never a second time from us.
        sys.stdout.flush()
        sys.stderr.flush()
        os.chdir(PROJECT_ROOT)
        os.execv(sys.executable, argv)
    return _run_as_child(argv)


def _vvgate_is_the_program() -> bool:
    """True in `vvgate ...` and `python -m vvgate ...`, false when imported by another program
    (which exec would replace)."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name == "vvgate.__main__":
        return True
    return Path(getattr(main_module, "__file__", None) or "").name == "vvgate"


def _run_as_child(argv: list[str]) -> int:
    # The child gets SIGTERM, which it handles like Ctrl-C, when this thread ends: it never
    # goes on alone. Ctrl-C reaches it directly, so we wait for its cleanup, not kill it.
    proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, preexec_fn=dies_with_parent(signal.SIGTERM))
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


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
