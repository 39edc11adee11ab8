"""``python -m annotator`` runs the CLI."""

import sys

from annotator.cli import main

sys.exit(main())
