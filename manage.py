#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruralshop.settings")
    from django.core.management import execute_from_command_line

    from ruralshop.folders import create_var_folders

    create_var_folders()  # the SQLite file's folder for migrate, the broker's for a command that queues a task
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
