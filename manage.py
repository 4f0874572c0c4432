#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftdetector.settings")
    import getpass

    from django.core.management import execute_from_command_line

    from auditlog.context import acting_as

    # Changes a command makes are recorded in the platform change log under this name.
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    with acting_as(f"{getpass.getuser()} (manage.py {command})", via="command"):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
