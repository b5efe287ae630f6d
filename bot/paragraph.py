"""The paragraph of a reflection: the person's three answers joined, and nothing else.

The bot never writes or rephrases a reflection; `assemble` only tidies each answer into a
sentence (whitespace, a capital letter, a closing full stop) and leaves skipped ones out.
"""

from __future__ import annotations

_CLOSERS = "\"'”’»)]"


def assemble(parts: tuple[str | None, ...] | list[str | None]) -> str:
    """Joins the answers as sentences: only the person's words, skipped ones left out.

    Each answer gets its whitespace tidied, a capital first letter and a closing full stop if
    it has no closing punctuation; nothing else is added or changed.
    """
    sentences = []
    for part in parts:
        words = " ".join((part or "").split())
        if not words:
            continue
        words = words[0].upper() + words[1:]
        if not words.rstrip(_CLOSERS).endswith((".", "!", "?", "…")):
            words += "."
        sentences.append(words)
    return " ".join(sentences)
