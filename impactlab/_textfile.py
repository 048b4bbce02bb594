"""Reading a small UTF-8 text file the user names (a markers CSV, a plan TOML) with errors that say what is wrong.

The file must be a regular file of bounded size (a folder, a pipe or a recording given by
mistake is refused before it is read), UTF-8 with an optional BOM; UTF-16 and binary files are
named as such. Each caller describes its kind of file in a :class:`TextFileKind`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from .errors import ConfigError

__all__ = ["TextFileKind", "read_text_file"]


@dataclass(frozen=True)
class TextFileKind:
    """What a kind of text file is called and what to tell the user when it cannot be read.

    Attributes
    ----------
    noun : str
        The file's name in messages (``"markers file"``, ``"plan file"``).
    max_bytes : int
        Largest accepted size (bytes); a bigger file is refused unread.
    size_note : str
        What such a file usually is, after the size (``"a plan is a few hundred bytes of TOML"``).
    check_hint : str
        Hint when the file is too big or binary (``"Check that this is the plan file ..."``).
    missing_hint : str
        Hint when the file does not exist.
    give_hint : str
        Hint when the path is a folder or not a regular file.
    binary_what : str
        Ending of "this looks like a binary file, not ..." (``"a markers CSV"``).
    utf8_hint : str
        Hint when the text is not UTF-8.
    """

    noun: str
    max_bytes: int
    size_note: str
    check_hint: str
    missing_hint: str
    give_hint: str
    binary_what: str
    utf8_hint: str


def read_text_file(path: str, kind: TextFileKind) -> str:
    """The text of ``path``: a regular file of at most ``kind.max_bytes``, UTF-8 (a leading BOM dropped).

    Parameters
    ----------
    path : str
        The file.
    kind : TextFileKind
        Its kind, for the size limit and the messages.

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        Missing, unreadable, a folder or device, too big, UTF-16, or not UTF-8 (with the line and
        column of the first bad byte).
    """
    p = path
    try:
        st = os.stat(p)
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"this is a folder, not a {kind.noun}", path=p, hint=kind.give_hint)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError("this is not a regular file (a pipe or device?)", path=p, hint=kind.give_hint)
        if st.st_size > kind.max_bytes:
            raise ConfigError(f"the file is {st.st_size / 2**20:.1f} MB; {kind.size_note}", path=p, hint=kind.check_hint)
        with open(p, "rb") as fh:
            raw = fh.read(kind.max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError(f"{kind.noun} not found", path=p, hint=kind.missing_hint) from None
    except PermissionError:
        raise ConfigError("permission denied (the file or a folder above it cannot be read)", path=p,
                          hint="Check the permissions") from None
    except OSError as err:
        raise ConfigError(f"cannot read the {kind.noun} ({err.strerror or type(err).__name__})", path=p) from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"the file is UTF-16 text; a {kind.noun} must be UTF-8", path=p, line=1,
                          hint="Save it again choosing the encoding UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        binary = b"\0" in raw[:4096]
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {col})"
                          + (f"; this looks like a binary file, not {kind.binary_what}" if binary else ""), path=p,
                          line=line, hint=kind.check_hint if binary else kind.utf8_hint) from None
