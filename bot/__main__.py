"""``python -m bot``: the jobgate command."""

from bot.cli import main

raise SystemExit(main())
