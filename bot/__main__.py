"""Entry point for ``python -m bot``."""

import os
import sys

from bot.cli import main

try:
    status = main()
    sys.stdout.flush()
except BrokenPipeError:
    # `python -m bot eval set.yaml | head` closes the pipe early; that is not an error.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 0
raise SystemExit(status)
