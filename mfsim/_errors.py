"""The project's own error types: user errors get one line, no traceback."""


class MfsimError(Exception):
    """Base class of errors reported to the user as one line (CLI exit status 2)."""


class ScenarioError(MfsimError):
    """A scenario file that cannot be read or does not validate.

    The message names the file, the key path and what is allowed.
    """


class MfsimWarning(UserWarning):
    """Something the user should know that does not stop the run; the CLI
    prints it as one line, ``mfsim: note: ...``."""


class RecomputedWarning(MfsimWarning):
    """A file a previous run left (a point, a reference, a checkpoint) was
    unreadable or failed its checksum: it is solved again."""


class RedirectedOutputWarning(MfsimWarning):
    """``--set`` changed a scenario whose default directory holds the run
    without the changes: the run goes to a directory named after them
    (``runs/<name>+key=value``), and the message names both."""


class DeprecatedKeyWarning(MfsimWarning, FutureWarning):
    """A scenario uses the old spelling of a renamed key: it is read as the new
    one; the message names the file, the key and its new name."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM after saving what it completed; the
    message says what was kept and how to resume (CLI exit status 130)."""


def clean(text: str) -> str:
    """``text`` with every control or format character (escape sequences,
    newlines, bidi overrides) written as a visible escape (``\\x1b``), so
    that nothing echoed from an input can move the cursor, restyle the
    terminal or start a line that passes for mfsim's own output."""
    import unicodedata

    out = []
    for ch in text:
        if ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def listing(labels, limit: int = 10) -> str:
    """Labels (points of a sweep) for a message: each bracketed and cleaned,
    the first ``limit`` shown and the rest counted."""
    shown = ", ".join(f"[{clean(label)}]" for label in labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def show(value, limit: int = 60) -> str:
    """A short, safe ``repr`` of a value from an input: control characters
    escaped, long text cut, and integers too long to print (Python refuses
    to convert more than 4300 digits) described by their size."""
    try:
        text = repr(value)
    except ValueError:  # an integer beyond the int-to-str digit limit
        text = f"<an integer of {value.bit_length()} bits>"
    text = clean(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."
