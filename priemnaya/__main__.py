"""`python -m priemnaya` runs the command line."""

import sys

from priemnaya.cli import main

sys.exit(main())
