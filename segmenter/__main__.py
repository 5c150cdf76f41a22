"""``python -m segmenter``: the command line (see segmenter/cli.py and docs/cli.md)."""
from .cli import main

raise SystemExit(main())
