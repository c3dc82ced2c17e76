"""Checks on what people send Vademecum: ids within what the store holds, and text (questions, edits,
comments, names) without characters that break storage or display.

Text refused, whatever the entry point (web form, REST API, command line):

- lone surrogates (``"\\ud800"`` in JSON): not Unicode text, they cannot be encoded to UTF-8, so they
  would break the store, the index and every response that shows the text;
- C0 control characters other than tab, newline and carriage return (NUL among them: PostgreSQL cannot
  store it in a text column), and DEL;
- bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make a sentence
  display in an order other than the one it is stored and checked in ("Trojan Source"), so a reviewer
  could approve text that reads differently from what was written.
"""

from __future__ import annotations

import re

from vademecum.errors import InvalidQueryError

# Largest id or count a store column holds (signed 64-bit, PostgreSQL BIGINT and SQLite INTEGER).
MAX_DB_INT = 2**63 - 1

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMES = {
    **{chr(code): "a control character" for code in (*range(0x00, 0x20), 0x7F)},
    **{chr(code): "a bidirectional override" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}


def forbidden_character(text: str) -> str | None:
    """What the first refused character of ``text`` is (for a message that does not echo it), or None."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    character = found.group()
    return _NAMES.get(character, "a lone surrogate (not Unicode text)") + f" (U+{ord(character):04X})"


def check_text(text: str, what: str) -> str:
    """``text`` unchanged, or InvalidQueryError (422) saying which character of ``what`` is refused."""
    problem = forbidden_character(text)
    if problem is not None:
        raise InvalidQueryError(f"the {what} holds {problem}; remove it and try again")
    return text
