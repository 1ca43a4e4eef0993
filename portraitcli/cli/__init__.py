"""The ``portrait`` command line (Typer). Modules import the library inside command bodies."""
