"""`python -m mexp.synthetic OUT_DIR [--layout ...]`: see mexp/synthetic/__init__.py."""

import sys

from mexp.synthetic.cli import main

if __name__ == "__main__":
  sys.exit(main())
