"""`python -m messenger_bot` is the same program as `messenger-bot`."""

import sys

from messenger_bot.cli import main

sys.exit(main())
