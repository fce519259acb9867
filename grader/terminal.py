"""Text from a submission or a server, made harmless for a terminal: no controls, no bidi tricks.

A student's output, messages quoting their code or values, and whatever a server sends back
could otherwise clear the screen, move the cursor, retitle the window, overwrite the score line
after a carriage return, or reorder what is shown with bidirectional overrides.
"""

from __future__ import annotations

import json
import re
from typing import Any

# ECMA-48: an ESC or C1 introducer, with its parameters, up to its final byte or terminator.
# A string sequence (OSC, DCS, SOS, PM, APC) ends at BEL or ST; its body stops at any introducer,
# so that unterminated ones cost linear time, not quadratic.
_STRING_SEQUENCE = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x90\x98\x9b-\x9f]*(?:\x07|\x1b\\|\x9c)"
_CONTROL_SEQUENCE = r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
_ESCAPE_SEQUENCE = r"\x1b[ -/]*[0-~]"  # two-character escapes (charset, keypad, reset...)
SEQUENCES = re.compile(f"{_STRING_SEQUENCE}|{_CONTROL_SEQUENCE}|{_ESCAPE_SEQUENCE}")
# C0 but newline and tab, DEL, C1; the bidi embeddings, overrides, isolates and marks.
UNSAFE_CHARACTERS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")


def printable(value: Any) -> Any:
    """`value` with every string in it (keys too) stripped of escape sequences and unsafe characters."""
    if isinstance(value, str):
        return _UNSAFE.sub("", SEQUENCES.sub("", value))
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(item) for item in value]
    return value


def json_text(data: Any) -> str:
    """Indented JSON that decodes to exactly `data`, with every unsafe character written as a \\u escape."""
    # Unsafe characters can only be inside strings (json.dumps escapes C0 there, not DEL, C1 or bidi).
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
