"""grader.terminal: what may reach a terminal from a submission or a server."""

from __future__ import annotations

import json

from grader.terminal import json_text, printable

UNSAFE = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)] if chr(c) not in "\n\t"]


def test_printable_keeps_ordinary_text_newlines_and_tabs():
    text = "loss 0.25\tgrad [1.0, -2.0]\n权重更新 ünïcödé → ok\n"
    assert printable(text) == text


def test_printable_drops_whole_sequences_and_every_unsafe_character():
    assert printable("a\x1b[38;2;1;2;3mb\x1b]8;;http://x\x1b\\c\x1bPq#0\x9cd\x1b(Be\x9b1;2Hf") == "abcdef"
    assert printable("".join(UNSAFE)) == ""
    assert printable("\x1b]0;never ended, still shown") == "0;never ended, still shown"


def test_printable_cleans_keys_and_values_of_nested_data():
    assert printable({"a\x1b[2J": ["b\rc", ("\u202ed",), 3, None]}) == {"a": ["bc", ["d"], 3, None]}


def test_json_text_writes_every_unsafe_character_as_an_escape_and_decodes_to_the_same():
    data = {"stdout": "".join(UNSAFE) + "text", "score": 1.5}
    text = json_text(data)
    assert not [character for character in text if character in UNSAFE and character != "\n"]
    assert json.loads(text) == data
