"""``python -m journey`` is the ``journey`` command."""

from journey.cli.main import main

main()
