"""``python -m modnet.batch``: see :mod:`modnet.batch.cli`."""

import sys

from .cli import main

sys.exit(main())
