"""`make demo`: Between in a terminal, with no Telegram account, no token, and a clock you can
fast-forward (a week in minutes).

The real bot (`bot.app.build_application`, the real Whisper model, real long polling over
HTTP) runs against the end-to-end tests' local Bot API server (tests/support/telegram_server.py),
on its own database, ./data/demo.db. The terminal plays the Telegram client. The demo lives at
the top of the repository, next to `tests/`, because it reuses that server and its `Person`
rather than keeping a second copy of Telegram's behaviour; it runs from a checkout
(`python -m demo`), it is not part of the installed package.

- server.py    the test server plus one ordered timeline of what the bot did in the chat
- chat.py      that timeline as terminal lines; buttons numbered; documents saved to files
- clock.py     /wait: the clock moved job to job (time-machine), as tests/fast/test_three_weeks
- console.py   reading lines (readline on a terminal, plain lines from a pipe) and printing
- session.py   the bot and the server started together; one typed line handled
- __main__.py  python -m demo [--start ISO] [--data DIR]
"""
