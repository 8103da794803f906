"""``python -m tracklm``: the same as the ``tracklm`` command."""

import sys

from tracklm.cli import main

sys.exit(main())
