import sys

from reference.localenv.cli import main

sys.exit(main(sys.argv[1:]))
