"""Data rights end to end over real HTTP: allow-list, /export, /delete (down to the disk), tidy."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.context import BotContext
from bot.jobs import tidy
from storage.models import (
    Base,
    Capture,
)
from storage.personal import personal_tables
from storage.sessions import utcnow
from tests.support.databases import disk_bytes
from tests.support.seed import phrases, seed
from tests.support.telegram_server import TelegramTestServer

STALE = "That's no longer available."


async def count_rows(app, user_id: int) -> int:
    total = 0
    async with app.bot_data.sessionmaker() as s:
        for table in personal_tables():
            column = table.c.id if table.name == "users" else table.c.user_id
            query = select(func.count()).select_from(table).where(column == user_id)
            total += await s.scalar(query)
    return total


async def _noop(context: BotContext) -> None:
    """A scheduled job that never needs to run."""


def test_every_table_is_personal_or_known_to_hold_nothing_personal() -> None:
    """/export and /delete find a person's rows through `user_id`: no table may hide some."""
    personal = {t.name for t in personal_tables()}
    assert {"users", "captures", "reflections", "triggers", "recalls"} <= personal
    assert {"therapy_sessions", "conversation_states"} <= personal
    assert set(Base.metadata.tables) - personal == {"meta"}


async def test_allow_list_stranger_gets_one_line_and_nothing_is_stored(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot(allowed_user_ids="101") as app:
        alice = server.person(user_id=101, first_name="Alice")
        mallory = server.person(user_id=666, first_name="Mallory")
        mallory.command("start")
        assert (await mallory.next_message()).text == "Sorry, this Between bot is private."
        mallory.send_text("my secret words")
        mallory.send_voice(Path(__file__).parent / "fixtures" / "speech_01.ogg")
        mallory.command("export")
        replies = [(await mallory.next_message()).text for _ in range(3)]
        assert replies == ["Sorry, this Between bot is private."] * 3
        mallory.press_raw("cap:land:1", 1)
        mallory.send_group_text("/help", chat_id=-4002)
        alice.command("help")  # the allowed person is served meanwhile
        assert "/recall" in (await alice.next_message()).text
        alice.send_text("my own words")
        assert "my own words" in (await alice.next_message()).text
        await server.wait_for(lambda: len(mallory.callback_answers) == 1, 5)
        assert mallory.callback_answers[0].get("text") == "Sorry, this Between bot is private."
        assert await mallory.no_message_within(0.5)
        assert not server.chat(-4002).sent  # a stranger in a group gets nothing at all
        assert server.downloads == []  # the stranger's memo was never even fetched
        assert await count_rows(app, 666) == 0
        assert await count_rows(app, 101) >= 3  # user, session, capture


async def test_export_sends_every_row_of_the_person_and_nothing_of_anyone_else(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        await seed(app, 101, "alicetag")
        await seed(app, 202, "bobtag")
        alice = server.person(user_id=101, first_name="Alice")
        alice.send_text("alicetag live capture")
        await alice.next_message()

        alice.command("export")
        intro = await alice.next_message()
        assert "everything I store about you" in intro.text
        readable = await alice.next_message()
        complete = await alice.next_message()
        today = datetime.now().astimezone().date()  # Berlin and local agree within a day
        assert readable.document is not None and complete.document is not None
        assert readable.document.filename.startswith("between-export-")
        assert readable.document.filename.endswith(".md")
        assert complete.document.filename == readable.document.filename[:-3] + ".json"
        assert abs((date.fromisoformat(readable.document.filename[15:25]) - today).days) <= 1
        md = readable.document.data.decode()
        raw = complete.document.data.decode()
        for text in [*phrases("alicetag"), "alicetag live capture"]:
            assert text in raw, text
            if text != "alicetag conversation state":  # a technical row: JSON only
                assert text in md, text
        assert "bobtag" not in raw and "bobtag" not in md

        document = json.loads(raw)
        assert document["format"] == "between-export" and document["user_id"] == 101
        tables = document["tables"]
        assert tables["users"][0]["timezone"] == "Europe/Berlin"
        assert len(tables["captures"]) == 4
        assert sorted(r["version"] for r in tables["reflections"]) == [1, 2]
        assert {r["status"] for r in tables["reflections"]} == {"saved", "superseded"}
        assert {r["kind"] for r in tables["triggers"]} == {"time", "situation"}
        assert tables["recalls"][0]["helped"] is True
        assert tables["conversation_states"][0]["user_id"] == 101
        # "complete" means every stored column: the JSON row has the model's columns
        for name, rows in tables.items():
            for row in rows:
                assert set(row) == set(Base.metadata.tables[name].columns.keys())
        assert "Reflection, version 1 (superseded" in md
        assert "★ what landed" in md and "Tidy chat after: 24 h" in md
        assert md.index("alicetag first paragraph") < md.index("alicetag second paragraph")

        bob = server.person(user_id=303, first_name="Nobody")
        bob.command("export")
        assert (await bob.next_message()).text == "I don't have anything stored about you."
        assert await count_rows(app, 303) == 0  # asking did not create a row


async def test_delete_asks_then_removes_everything_down_to_the_disk(
    server: TelegramTestServer, start_bot, tmp_path: Path
) -> None:
    db = tmp_path / "between.db"
    async with start_bot() as app:
        ids = await seed(app, 101, "alicetag")
        await seed(app, 202, "bobtag")
        alice = server.person(user_id=101, first_name="Alice")
        jobs = app.job_queue
        for user_id in (101, 202):
            jobs.run_once(_noop, when=3600, name=f"test:{user_id}", user_id=user_id)
        alice.command("settings")  # a conversation in progress when she deletes
        await alice.next_message()
        alice.send_text("alicetag typed live")
        assert "alicetag typed live" in (await alice.next_message()).text
        assert "kept it as a note" in (await alice.next_message()).text  # the menu wanted a tap
        assert "Your settings" in (await alice.next_message()).text  # and is shown again
        audio = Path(f"data/audio/101/{ids['voice']}.ogg")
        assert audio.exists()

        alice.command("delete")
        ask = await alice.next_message()
        assert ask.text.startswith("Delete everything? This can't be undone.")
        assert ask.button_texts == ["Yes, delete everything", "Cancel"]
        alice.press("Cancel")
        assert (await alice.next_edit()).text == "Okay, nothing was deleted."
        assert await count_rows(app, 101) > 0

        alice.command("delete")
        ask = await alice.next_message()
        bob = server.person(user_id=202, first_name="Bob")
        yes = ask.buttons[0][0][1]
        bob.press_raw(yes, ask.message_id, chat_id=101)  # someone else's button: refused
        forged = yes.replace(":101:", ":202:")
        bob.press_raw(forged, ask.message_id, chat_id=101)  # forged for bob, pressed in alice's
        await server.wait_for(lambda: len(bob.callback_answers) == 2, 5)
        assert [a.get("text") for a in bob.callback_answers] == [STALE, STALE]
        assert await count_rows(app, 202) > 0

        alice.press("Yes, delete everything", ask)
        done = await alice.next_edit()
        assert done.text == "Everything is deleted. /start begins again."
        assert done.buttons == []
        assert await count_rows(app, 101) == 0
        assert not audio.exists() and not Path("data/audio/101").exists()
        assert [j.name for j in jobs.jobs() if j.user_id == 101] == []
        assert any(j.user_id == 202 for j in jobs.jobs())  # bob's jobs stay
        assert await count_rows(app, 202) > 0

        # the settings menu she had open is gone with everything else
        alice.press("Time zone")
        await server.wait_for(lambda: len(alice.callback_answers) >= 3, 5)
        assert alice.callback_answers[-1].get("text") == STALE
        assert await count_rows(app, 101) == 0

        on_disk = disk_bytes(db)
        for text in [*phrases("alicetag"), "alicetag typed live"]:
            assert text.encode() not in on_disk, text
        assert b"bobtag second paragraph" in on_disk  # the grep does see what is there

        alice.command("start")  # a fresh start works
        assert "Between" in (await alice.next_message()).text
    for text in phrases("alicetag"):
        assert text.encode() not in disk_bytes(db)


async def test_tidy_mode_deletes_old_transcript_cards_but_keeps_the_text(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        assert app.job_queue.get_jobs_by_name(tidy.JOB_NAME)
        alice = server.person(user_id=101, first_name="Alice")
        carol = server.person(user_id=303, first_name="Carol")
        alice.command("settings")
        await alice.next_message()
        alice.press("Tidy chat after")
        await alice.next_message()
        alice.send_text("2")
        await alice.next_message()
        await alice.next_message()
        alice.command("cancel")
        await alice.next_message()
        cards = {}
        for name in ("old", "fresh", "ancient"):
            alice.send_text(f"{name} words")
            cards[name] = await alice.next_message()
        carol.send_text("carol words")  # tidy is off for her
        carol_card = await carol.next_message()
        async with app.bot_data.sessionmaker() as s, s.begin():
            rows = {c.text: c for c in await s.scalars(select(Capture))}
            rows["old words"].created_at = utcnow() - timedelta(hours=3)
            rows["ancient words"].created_at = utcnow() - timedelta(hours=50)
            rows["carol words"].created_at = utcnow() - timedelta(hours=30)

        assert await tidy.tidy_all(app) == 1
        assert alice.current(cards["old"]).deleted
        assert not alice.current(cards["fresh"]).deleted
        # Telegram refuses deleting messages older than 48 h: not even tried
        assert not alice.current(cards["ancient"]).deleted
        assert not carol.current(carol_card).deleted
        assert len(server.calls("deleteMessage")) == 1
        async with app.bot_data.sessionmaker() as s:
            rows = {c.text: c for c in await s.scalars(select(Capture))}
        assert rows["old words"].reply_message_id is None  # the stored text stays
        assert rows["ancient words"].reply_message_id is None
        assert rows["fresh words"].reply_message_id == cards["fresh"].message_id
        assert rows["carol words"].reply_message_id == carol_card.message_id

        server.fail_next("deleteMessage", status=502, times=None)  # network trouble: kept
        async with app.bot_data.sessionmaker() as s, s.begin():
            row = await s.get(Capture, rows["fresh words"].id)
            row.created_at = utcnow() - timedelta(hours=5)
        assert await tidy.tidy_all(app) == 0
        async with app.bot_data.sessionmaker() as s:
            row = await s.get(Capture, rows["fresh words"].id)
        assert row.reply_message_id == cards["fresh"].message_id
        server.clear_faults()
        assert await tidy.tidy_all(app) == 1
        assert alice.current(cards["fresh"]).deleted
        alice.command("help")  # and the bot is fine
        assert "/recall" in (await alice.next_message()).text


async def test_voice_audio_is_kept_only_on_request_and_deleted_with_everything(
    server: TelegramTestServer, start_bot, tmp_path: Path
) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    audio = tmp_path / "data" / "audio" / "101"
    async with start_bot() as app:
        alice = server.person(user_id=101, first_name="Alice")
        alice.send_voice(fixtures / "speech_01.ogg")
        await alice.next_message()
        assert "earn rest" in (await alice.next_edit(timeout=30)).text
        assert not audio.exists()  # the default: transcribed, then the audio is gone

        alice.command("settings")
        await alice.next_message()
        alice.press("Keep voice audio")
        assert "Keep voice audio: on" in (await alice.next_message()).text
        alice.command("cancel")
        await alice.next_message()
        alice.send_voice(fixtures / "speech_04.ogg")
        await alice.next_message()
        await alice.next_edit(timeout=30)
        kept = list(audio.iterdir())
        assert len(kept) == 1 and kept[0].read_bytes() == (fixtures / "speech_04.ogg").read_bytes()

        alice.command("delete")
        alice.press("Yes, delete everything", await alice.next_message())
        assert "Everything is deleted" in (await alice.next_edit()).text
        assert not audio.exists()
        assert await count_rows(app, 101) == 0
