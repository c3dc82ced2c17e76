"""``python -m vademecum``."""

from vademecum.cli import main

main()
