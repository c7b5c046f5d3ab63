"""``python -m rs_ilg.cli``: the same as the ``rs-ilg`` command."""

import sys

from . import main

sys.exit(main())
