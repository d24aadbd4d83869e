"""The project's own error types: user errors get one line, no traceback."""


class MfsimError(Exception):
    """Base class of errors reported to the user as one line (CLI exit status 2)."""


class ScenarioError(MfsimError):
    """A scenario file that cannot be read or does not validate.

    The message names the file, the key path and what is allowed.
    """


class DeprecatedKeyWarning(FutureWarning):
    """A scenario uses the old spelling of a renamed key: it is read as the new
    one; the message names the file, the key and its new name."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM after saving what it completed; the
    message says what was kept and how to resume (CLI exit status 130)."""
