"""``python -m metaregistry``: the command line."""

from metaregistry.cli import main

main()
