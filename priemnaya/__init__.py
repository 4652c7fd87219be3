"""Priemnaya: the composition root and the command line."""

import os

# The matcher's matrix products are tiny (one message against a few dozen entries): OpenBLAS's
# worker threads only spin beside them, doubling the CPU of a decision (0.58 ms of wall time,
# 1.16 ms of CPU on 2026-11-27) on a core the database or another replica could use. Set
# before numpy loads; an operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
