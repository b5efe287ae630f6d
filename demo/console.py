"""The terminal: lines typed by the person, lines printed by the bot, on a plain terminal.

Reading happens on the main thread (Python's `input()` uses readline, with history and line
editing, only there); the bot runs on an event loop in another thread and may print while a
line is half typed (a transcript that took long, a ping while the person idles): the prompt
and the half-typed text are then drawn again below. From a pipe (scripts, tests) lines are
read plainly and echoed after the prompt, so the output reads as the conversation.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

try:  # line editing and history where the platform has it; plain input() otherwise
    import readline
except ImportError:  # pragma: no cover - Windows without pyreadline
    readline = None  # type: ignore[assignment]

PROMPT = "you › "


class Console:
    """Prints from any thread; reads on the main thread.

    Args:
        stdin: where lines come from.
        stdout: where everything goes.
    """

    def __init__(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.interactive = stdin.isatty() and stdout.isatty()
        self.colour = self.interactive and not os.environ.get("NO_COLOR")
        self._lock = threading.Lock()
        self._reading = False

    def read(self) -> str | None:
        """The next line the person typed (without its newline); None at end of input."""
        with self._lock:
            self._reading = True
        try:
            if self.interactive:
                try:
                    return input(PROMPT)
                except EOFError:
                    self.stdout.write("\n")
                    return None
            line = self.stdin.readline()
            if not line:
                return None
            line = line.rstrip("\r\n")
            with self._lock:
                self.stdout.write(f"{PROMPT}{line}\n")
                self.stdout.flush()
            return line
        finally:
            with self._lock:
                self._reading = False

    def show(self, lines: list[str]) -> None:
        """Prints lines; on a terminal where a line is being typed, redraws it below them."""
        if not lines:
            return
        with self._lock:
            if self._reading and self.interactive:
                typed = readline.get_line_buffer() if readline is not None else ""
                self.stdout.write("\r\x1b[K" + "\n".join(lines) + "\n" + PROMPT + typed)
            else:
                self.stdout.write("\n".join(lines) + "\n")
            self.stdout.flush()
