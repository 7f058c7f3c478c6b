"""The ``rapport`` command: Django's manage.py plus Rapport's own commands.

Run ``rapport help`` for the list; ``rapport serve``, ``rapport worker``,
``rapport demo`` and ``rapport check`` are the ones operators use most.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from rapport.config import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ConfigError as error:
        print(f"rapport: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
