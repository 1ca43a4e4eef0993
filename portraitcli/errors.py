"""The exception hierarchy of portraitcli; each class carries its CLI exit code.

The library raises these; only ``portraitcli.cli`` turns them into exit codes and
one-line messages (see the README's table of exit codes).
"""

from __future__ import annotations


class PortraitError(Exception):
    """Base class of every error the library raises on purpose. Exit code 1 is for bugs."""

    exit_code = 1


class UsageError(PortraitError):
    """The command line asks for something that cannot be done (exit code 2)."""

    exit_code = 2


class BadInputError(PortraitError):
    """An input file is missing, unreadable, corrupt, too small or too large (exit code 3)."""

    exit_code = 3


class NoFaceError(PortraitError):
    """No face was found where one is needed (exit code 4)."""

    exit_code = 4


class WeightsError(PortraitError):
    """A model file is missing, unknown, or its sha256 does not match the manifest (exit code 5)."""

    exit_code = 5


class RuntimeDeviceError(PortraitError):
    """The runtime or device cannot do what was asked, e.g. CUDA is unavailable (exit code 6)."""

    exit_code = 6


class BatchFailedError(PortraitError):
    """Some files of a batch failed; the others were written (exit code 7)."""

    exit_code = 7


#: Exit code of a bug (an exception that is not a PortraitError); the others are the classes'.
EXIT_BUG = 1
EXIT_USAGE = UsageError.exit_code
