"""``python -m hglm`` is the ``hglm`` command; with no arguments it runs ``hglm demo``."""

import sys

from hglm.cli import main

if __name__ == "__main__":
    sys.exit(main())
