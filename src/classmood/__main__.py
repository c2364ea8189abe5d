"""``python -m classmood`` runs the command line."""

from classmood.cli import main

main()
