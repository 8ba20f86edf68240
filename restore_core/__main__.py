"""`python -m restore_core` runs the `restore` command."""

from restore_core.cli import main

main()
