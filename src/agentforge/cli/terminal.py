"""Showing untrusted text (a model-written patch) on a terminal without letting it drive the terminal.

A terminal acts on control characters: `ESC [1A ESC [2K` moves up and erases a
line, a lone `\\r` returns to the start of the line to overwrite it, an OSC
sequence retitles the window or makes a link, and bidirectional overrides
(U+202E, ...) reorder what is shown ("Trojan Source"). Any of them lets a patch
hide lines from the person reviewing it. `terminal_safe` replaces each such
character with a visible stand-in, so the sequence becomes inert text that
shows where it was: ESC as ␛, other C0 controls as their Unicode control
pictures (␍, ␇, ...), C1 controls and bidi overrides as <U+XXXX>.

Kept as they are: newline, tab, and a carriage return right before a newline
(CRLF line endings, which display harmlessly).
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls but \t and \n, a \r not followed by \n, DEL, C1 controls, bidi controls
_UNSAFE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f{BIDI_CONTROLS}]|\r(?!\n)")


def _stand_in(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures block: U+241B ␛, U+240D ␍, ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def terminal_safe(text: str) -> tuple[str, int]:
    """`text` with every terminal control character made visible, and how many there were."""
    return _UNSAFE.subn(lambda match: _stand_in(match.group()), text)
