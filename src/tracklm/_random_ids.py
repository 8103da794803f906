"""Random ids for what the flusher makes (calls' rows, batches), drawn without a system call.

``uuid.uuid4()`` reads the OS's random source at every call and releases the GIL to do so;
beside an app thread that keeps the GIL busy, the flusher then waits a switch interval (5 ms)
to get it back, at every id. These are as random (128 bits from a generator seeded by the OS
once per process, and again in a forked child), not secret.
"""

from __future__ import annotations

import os
import random

_source = random.Random()


def random_hex() -> str:
    """32 random hexadecimal digits, as ``uuid.uuid4().hex`` has."""
    return f"{_source.getrandbits(128):032x}"


os.register_at_fork(after_in_child=_source.seed)  # a forked child draws other ids
