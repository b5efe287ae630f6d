"""End to end over real HTTP: the bot starts, registers commands and walks /start through."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.texts import DAY_NAMES
from storage.models import User
from tests.support.telegram_server import TelegramTestServer

ROOT = Path(__file__).resolve().parent.parent


async def _user(app, user_id: int) -> User:
    async with app.bot_data.sessionmaker() as session:
        row = await session.scalar(select(User).where(User.id == user_id))
    assert row is not None
    return row


async def test_start_onboarding_with_typed_answers(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        commands = await server.wait_for_call("setMyCommands")
        assert "recall" in str(commands)
        alice = server.person(user_id=101, first_name="Alice")
        alice.command("start")
        intro = await alice.next_message()
        assert "Between" in intro.text and "167" in intro.text
        ask = await alice.next_message()
        assert "time zone" in ask.text
        assert any("Berlin" in text for text in ask.button_texts)

        alice.send_text("Mars/Olympus")
        assert "don't know that time zone" in (await alice.next_message()).text

        alice.send_text("berlin")
        assert "Europe/Berlin" in (await alice.next_message()).text
        assert "therapy" in (await alice.next_message()).text

        alice.send_text("someday maybe")
        assert "tue 17:00" in (await alice.next_message()).text

        # therapy three days ahead: no evening prompt can fall due between the replies
        day = (datetime.now(ZoneInfo("Europe/Berlin")).weekday() + 3) % 7
        alice.send_text(f"{DAY_NAMES[day][:3].lower()} 17:00")
        assert f"{DAY_NAMES[day]} at 17:00" in (await alice.next_message()).text
        assert "You're set" in (await alice.next_message()).text

        user = await _user(app, 101)
        assert (user.timezone, user.therapy_weekday, f"{user.therapy_time:%H:%M}") == (
            "Europe/Berlin",
            day,
            "17:00",
        )
        assert user.onboarded


async def test_start_with_buttons_and_skip(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        bob = server.person(user_id=202, first_name="Bob")
        bob.command("start")
        await bob.next_message()
        await bob.next_message()
        bob.press("New York")
        assert "America/New_York" in (await bob.next_message()).text
        await bob.next_message()
        bob.command("skip")
        assert "No fixed therapy day" in (await bob.next_message()).text
        assert "You're set" in (await bob.next_message()).text
        user = await _user(app, 202)
        assert user.timezone == "America/New_York" and user.therapy_weekday is None


async def test_help_and_settings(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        carol = server.person(user_id=303, first_name="Carol")
        carol.command("help")
        help_text = (await carol.next_message()).text
        assert "1." in help_text and "5." in help_text and "/recall" in help_text

        carol.command("settings")
        menu = await carol.next_message()
        assert "Time zone: UTC" in menu.text
        carol.press("Time zone")
        await carol.next_message()
        carol.send_text("+5:30")
        assert "Saved" in (await carol.next_message()).text
        assert "Time zone: +05:30" in (await carol.next_message()).text
        carol.press("Evening prompt")
        await carol.next_message()
        carol.send_text("off")
        await carol.next_message()
        await carol.next_message()
        user = await _user(app, 303)
        assert user.timezone == "+05:30" and user.evening_time is None


async def test_bot_runs_on_when_set_my_commands_is_unsupported(
    server: TelegramTestServer,
    start_bot,
) -> None:
    server.unsupported("setMyCommands", status=400)
    async with start_bot():
        dave = server.person(user_id=404, first_name="Dave")
        dave.command("help")
        assert "/recall" in (await dave.next_message()).text


async def test_messages_sent_while_down_are_processed(
    server: TelegramTestServer, start_bot
) -> None:
    erin = server.person(user_id=505, first_name="Erin")
    erin.command("help")  # queued before the bot starts
    async with start_bot():
        assert "/recall" in (await erin.next_message()).text


def test_no_token_exits_2_with_one_helpful_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0] and ".env" in lines[0]


def test_malformed_setting_names_it(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "1:x", "PORT": "abc"}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "PORT" in result.stderr
