"""One demo run: the local Bot API, the real bot polling it, the person, and the clock.

The bot is `bot.app.build_application` as `make run` builds it, with the real Whisper model
and real long polling over HTTP; only the Bot API root (the local server), the token (one the
local server accepts), the database (./data/demo.db, new each run) and the access settings
(nobody is kept out, nothing is encrypted) are the demo's. Each typed line is one update;
the next line is read once the bot has finished with it (replies sent, memo transcribed), so
a script piped in reads like a conversation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from pathlib import Path

import time_machine
from telegram import Update

from bot.app import build_application
from bot.config import load_settings
from bot.context import BetweenApp
from bot.zones import load_zone
from demo.chat import ChatView, Style
from demo.clock import fast_forward, read_wait
from demo.console import Console
from demo.server import TOKEN, DemoServer
from storage.users import UserRepository
from tests.support.person import Person

logger = logging.getLogger(__name__)

PERSON_ID = 4242
SAMPLE = Path(__file__).with_name("sample.ogg")  # "The thing that landed today is that I can
# say no without explaining myself." (tests/fixtures/speech_03.ogg)
SETTLE_LIMIT = 180.0  # seconds a line may keep the bot busy before the prompt comes back
POLL = 0.05

HELP = """\
Demo commands (anything else goes to the bot as you type it, /commands too):
  1, 2, ...                press that button on the latest message with buttons
  k1                       the button under the message field (🔁 Recall)
  /voice sample            send the sample voice memo; /voice PATH sends any audio file
  /wait 2d, /wait 3h 30m   fast-forward the clock; /wait until thu 08:00, /wait until 20:31
  /now                     what the demo clock says
  \\TEXT                    send TEXT as it is (\\2 sends the text "2", not button 2)
  /quit                    end the demo (Ctrl-D too)
A week in a few minutes: /start, then /voice sample, /wait until 20:31 on a therapy day for
the evening prompt, /trigger thu 08:00 morning walk, /wait until thu 08:00 for the ping (and
/wait 3h for "How did it go?"), /recall, and /wait until the evening before your next
session for the digest and its PDF."""


def clear_database(path: Path) -> None:
    """Removes a previous run's demo database (the chat it belonged to is gone with it)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def read_audio(argument: str) -> bytes | str:
    """The bytes of `/voice sample` or `/voice PATH`, or the line saying why there are none."""
    if not argument:
        return "Usage: /voice sample, or /voice PATH to an audio file."
    path = SAMPLE if argument.lower() == "sample" else Path(argument).expanduser()
    if not path.is_file():
        return f"No audio file at {path}."
    return path.read_bytes()


class Demo:
    """The bot, its Bot API and the person, on one event loop.

    Args:
        data: the folder for demo.db, demo.log and the files the bot sends.
        start: where the demo clock starts (aware); None: now.
        console: where lines are shown.
    """

    def __init__(self, data: Path, start: dt.datetime | None, console: Console) -> None:
        self.data = data
        self.database = data / "demo.db"
        self.console = console
        self._travel = time_machine.travel(start or dt.datetime.now(dt.UTC), tick=True)
        self.traveller: time_machine.Traveller | None = None
        self.server = DemoServer()
        self.person: Person | None = None
        self.app: BetweenApp | None = None
        self.zone: dt.tzinfo = dt.UTC
        self.view = ChatView(
            self.server, PERSON_ID, lambda: self.zone, data / "demo-files", Style(console.colour)
        )
        self._printer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Starts the clock, the local Bot API and the bot (loading the model takes a moment)."""
        self.traveller = self._travel.start()
        self.data.mkdir(parents=True, exist_ok=True)
        clear_database(self.database)
        await self.server.start()
        self.person = self.server.person(user_id=PERSON_ID, first_name="You")
        settings = load_settings(
            telegram_bot_token=TOKEN,
            telegram_api_base_url=self.server.root,
            database_url=f"sqlite+aiosqlite:///{self.database.resolve()}",
            allowed_user_ids="",
            encryption_key="",
            webhook_url="",
            _env_file=None,
        )
        self.zone = load_zone(settings.default_timezone)
        app = self.app = build_application(settings)
        await app.initialize()
        assert app.post_init is not None and app.updater is not None  # both set by the builder
        await app.post_init(app)
        await app.updater.start_polling(
            poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES
        )
        await app.start()
        self._printer = asyncio.create_task(self._print_news(), name="demo printer")

    async def stop(self) -> None:
        """Stops the bot and the server, shows what was still unread, and resets the clock."""
        app = self.app
        if app is not None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
        if self._printer is not None:
            self._printer.cancel()
        self.console.show(self.view.news())
        await self.server.stop()
        if self.traveller is not None:
            self._travel.stop()

    def banner(self) -> list[str]:
        style = self.view.style
        return [
            style.bold("Between, the demo.") + " You are the person; the bot answers here. No "
            "Telegram, no token: nothing leaves this machine.",
            f"Database: {self.database} (new for this run; the real data/between.db is never "
            f"touched). Files the bot sends go to {self.view.files}/.",
            f"The clock says {self.clock()}. /demo lists the demo's own commands "
            "(/voice, /wait, buttons).",
            "Begin with /start.",
        ]

    def clock(self) -> str:
        now = dt.datetime.now(dt.UTC)
        return f"{self.view.stamp(now.timestamp())} ({now.astimezone(self.zone).tzname()})"

    # ------------------------------------------------------------------ one line

    async def handle(self, line: str) -> bool:
        """Does what one typed line says; False when the demo should end."""
        person = self.person
        assert person is not None  # start() ran
        text = line.strip()
        command, _, rest = text.partition(" ")
        command = command.lower()
        if not text:
            return True
        if command in ("/quit", "/exit"):
            return False
        if command == "/demo":
            self.console.show(HELP.splitlines())
        elif command == "/now":
            self.console.show([f"⏱ {self.clock()}"])
        elif command == "/voice":
            await self._voice(person, rest.strip())
        elif command == "/wait":
            await self._wait(rest)
        else:
            if line.lstrip().startswith("\\"):
                person.send_text(line.lstrip()[1:])
            elif (key := re.fullmatch(r"k(\d+)", text.lower())) is not None and self._key(key[1]):
                person.send_text(self._key(key[1]) or "")
            elif text.isdigit() and (button := self.view.button(int(text))) is not None:
                person.press_raw(button[1], button[0])
            else:
                person.send_text(text)
            await self.settle()
        await self._refresh_zone()
        self.console.show(self.view.news())
        return True

    def _key(self, number: str) -> str | None:
        keys = self.view.keyboard
        index = int(number) - 1
        return keys[index] if 0 <= index < len(keys) else None

    async def _voice(self, person: Person, argument: str) -> None:
        audio = await asyncio.to_thread(read_audio, argument)
        if isinstance(audio, str):
            self.console.show([audio])
            return
        person.send_voice(audio)
        await self.settle()

    async def _wait(self, argument: str) -> None:
        app = self.app
        assert app is not None and app.job_queue is not None and self.traveller is not None
        try:
            target = read_wait(argument, dt.datetime.now(dt.UTC), self.zone)
        except ValueError as exc:
            self.console.show([str(exc)])
            return
        self.console.show([self.view.style.dim(f"⏩ until {self.view.stamp(target.timestamp())}")])
        await fast_forward(app.job_queue.scheduler, self.traveller, target, self.settle)
        self.console.show(self.view.news())
        self.console.show([self.view.style.dim(f"⏱ {self.clock()}")])

    # ------------------------------------------------------------------ waiting and printing

    async def settle(self) -> None:
        """Waits until the bot has fetched every update and finished what they and the jobs
        started (replies, transcriptions), or SETTLE_LIMIT passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT
        calm = 0
        while calm < 2 and loop.time() < deadline:  # two looks in a row: no hand-over between
            await asyncio.sleep(POLL)
            calm = calm + 1 if self._idle() else 0

    def _idle(self) -> bool:
        app = self.app
        if app is None:
            return True
        # PTB keeps the tasks it starts for updates and handlers (block=False, background
        # transcriptions) in this set until they finish; tests/support/fast.py reads it too
        tasks = app._Application__create_task_tasks  # type: ignore[attr-defined]
        jobs_running = any(
            not task.done() and "run_coroutine_job" in repr(task.get_coro())
            for task in asyncio.all_tasks()
        )
        return (
            not self.server.pending_updates
            and app.update_queue.empty()
            and not any(not task.done() for task in tasks)
            and not jobs_running
        )

    async def _refresh_zone(self) -> None:
        """The zone the bot now has for the person: message times are shown in it."""
        app = self.app
        if app is None or app.bot_data.sessionmaker is None:
            return
        async with app.bot_data.sessionmaker() as session:
            user = await UserRepository(session).get(PERSON_ID)
        if user is not None:
            try:
                self.zone = load_zone(user.timezone)
            except ValueError:
                logger.warning("the demo person's zone does not load; showing times as before")

    async def _print_news(self) -> None:
        """Shows what the bot does while nobody is typing (a ping while the person idles)."""
        while True:
            await self.server.wait_for(self.view.has_news, 3600)
            self.console.show(self.view.news())
