"""The ``journey`` command: thin — parse arguments, call the library, print (rich or --json)."""
