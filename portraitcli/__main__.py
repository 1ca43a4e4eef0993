"""``python -m portraitcli``: the ``portrait`` command, for environments without the console script."""

from portraitcli.cli.app import entry

entry()
