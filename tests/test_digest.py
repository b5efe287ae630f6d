"""The weekly digest: its content, its time (the day before therapy), once per week."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.jobs.digest import send as send_digest
from bot.views import digest_text
from storage.models import Recall, RecallSource, User
from storage.recalls import DigestFacts, RecallRepository
from storage.sessions import utcnow
from tests.support.rows import add_reflection, add_user, db_of, open_db
from tests.support.telegram_server import TelegramTestServer
from tests.test_pdf import pdf_text

BERLIN = ZoneInfo("Europe/Berlin")


async def _recall(db, user_id: int, reflection_id: int, **values: object) -> None:  # type: ignore[no-untyped-def]
    async with db() as s, s.begin():
        s.add(
            Recall(
                user_id=user_id,
                reflection_id=reflection_id,
                source=RecallSource.COMMAND,
                **values,
            )
        )


async def test_digest_text_has_what_landed_the_paragraph_and_how_it_went(
    tmp_path: Path,
) -> None:
    engine, db = await open_db(tmp_path)
    await add_user(db, 901, therapy_weekday=1, therapy_time=time(17))
    await add_user(db, 902, therapy_weekday=1, therapy_time=time(17))
    await add_reflection(db, 901, "Old one", days_ago=30, landed="an old landed line")
    rid = await add_reflection(
        db,
        901,
        "I can say <no>",
        "It protects my evenings.",
        "I leave at six.",
        days_ago=1,
        landed="You are allowed to leave & rest.",
    )
    await _recall(db, 901, rid, helped=True, outcome="I left at six on Wednesday.")
    await _recall(db, 901, rid, helped=True)
    await _recall(db, 901, rid, helped=False, outcome="Stayed late; noticed it though.")
    await add_reflection(db, 902, "Bob's secret", landed="bob's landed line")
    since = utcnow() - timedelta(days=6)
    async with db() as s:
        facts = await RecallRepository(s).digest_facts(901, since)
    now = datetime.now(UTC)
    text = digest_text(facts, BERLIN, now, now.astimezone(BERLIN).date())
    assert text is not None
    assert text.startswith("Tomorrow is your session.")
    assert "<b>What landed</b>\n“You are allowed to leave &amp; rest.”" in text
    assert "<b>I can say &lt;no&gt;</b>\nI can say &lt;no&gt; It protects my evenings." in text
    assert "You brought it back 3 times: 2 helped, 1 didn't." in text
    assert "“I left at six on Wednesday.”" in text and "“Stayed late; noticed it though.”" in text
    assert text.endswith("Bring this into the room.")
    assert "old landed" not in text and "Old one" not in text and "Bob" not in text

    async with db() as s:
        quiet = await RecallRepository(s).digest_facts(901, utcnow() + timedelta(minutes=1))
    assert quiet.empty and digest_text(quiet, BERLIN, now, now.date()) is None
    await engine.dispose()


def test_a_digest_sent_after_midnight_says_the_session_is_today() -> None:
    facts = DigestFacts(landed=["Rest is allowed."])
    monday = date(2026, 11, 23)  # the digest of Monday evening, for Tuesday's session
    on_time = datetime(2026, 11, 23, 20, 30, tzinfo=BERLIN)
    after_midnight = datetime(2026, 11, 24, 0, 30, tzinfo=BERLIN)  # still the 23rd in UTC
    before = digest_text(facts, BERLIN, on_time.astimezone(UTC), monday)
    after = digest_text(facts, BERLIN, after_midnight.astimezone(UTC), monday)
    assert before is not None and before.startswith("Tomorrow is your session.")
    assert after is not None and after.startswith("Your session is today.")
    assert "“Rest is allowed.”" in after


async def test_digest_is_scheduled_the_day_before_therapy_and_sent_once(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        # therapy two days from now: the data made "now" lies in the week the digest covers
        therapy_day = (datetime.now(BERLIN).weekday() + 2) % 7
        await add_user(
            db, 903, therapy_weekday=therapy_day, therapy_time=time(17), evening_time=time(20, 30)
        )
        rid = await add_reflection(db, 903, "Rest is not a prize", landed="Rest is allowed.")
        await _recall(db, 903, rid, helped=True, outcome="Took Sunday off.")
        from bot.jobs import reschedule_user

        await reschedule_user(app, 903)
        (job,) = app.job_queue.get_jobs_by_name("digest:903")
        due = job.next_t.astimezone(BERLIN)
        assert (due.weekday(), due.time()) == ((therapy_day - 1) % 7, time(20, 30))  # day before
        assert timedelta(0) < job.next_t - datetime.now(UTC) <= timedelta(days=7)

        alice = server.person(user_id=903)
        day = due.date()
        assert await send_digest(app, 903, day)
        digest = await alice.next_message()
        assert digest.parse_mode == "HTML"
        assert "Rest is allowed." in digest.text and "Took Sunday off." in digest.text
        assert "You brought it back 1 time: 1 helped, 0 didn't." in digest.text
        page = await alice.next_message()  # the same week on one page, after the text
        assert page.document is not None
        assert page.document.filename == f"between-{day + timedelta(days=1)}.pdf"
        assert page.caption == "The same week on one page, to print or open in the room."
        pages, words = pdf_text(page.document.data)
        assert pages == 1
        for said in ("Rest is allowed.", "Rest is not a prize", "Took Sunday off."):
            assert said in words, said
        assert "Rest is not a prize It matters for how I live. I do one thing differently." in words
        assert "it helped" in words and "Your week between" in words
        assert not await send_digest(app, 903, day)  # once per week
        assert await alice.no_message_within(0.5)
        async with db() as s:
            user = await s.get(User, 903)
            assert user is not None and user.last_digest_on == day
        (job,) = app.job_queue.get_jobs_by_name("digest:903")
        assert job.next_t.astimezone(BERLIN).date() > day  # next week's

        # no therapy day: no digest job
        async with db() as s, s.begin():
            user = await s.get(User, 903)
            user.therapy_weekday = None
        await reschedule_user(app, 903)
        assert not app.job_queue.get_jobs_by_name("digest:903")


async def test_quiet_week_sends_nothing(server: TelegramTestServer, start_bot) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 904, therapy_weekday=3, therapy_time=time(9))
        alice = server.person(user_id=904)
        today = datetime.now(BERLIN).date()
        assert not await send_digest(app, 904, today)
        assert await alice.no_message_within(0.5)
        async with db() as s:
            user = await s.get(User, 904)
            assert user is not None and user.last_digest_on == today


async def test_a_digest_missed_while_down_is_sent_once_after_restart(
    server: TelegramTestServer, start_bot, tmp_path: Path
) -> None:
    due = datetime.now(BERLIN) - timedelta(hours=1)  # the digest was due an hour ago
    engine, db = await open_db(tmp_path)
    await add_user(
        db,
        905,
        therapy_weekday=(due.weekday() + 1) % 7,
        therapy_time=time(10),
        evening_time=due.time().replace(second=0, microsecond=0),
    )
    await add_reflection(db, 905, "I can stay in the room", landed="Stay with it.")
    await engine.dispose()
    alice = server.person(user_id=905)
    async with start_bot():
        digest = await alice.next_message(timeout=5)
        # the session is the day after `due`: "tomorrow" unless it was sent after midnight
        late = datetime.now(BERLIN).date() > due.date()
        head = "Your session is today." if late else "Tomorrow is your session."
        assert digest.text.startswith(head), digest.text
        assert "Stay with it." in digest.text and "Bring this into the room." in digest.text
        assert "It didn't come back to you this week." in digest.text
        assert (await alice.next_message(timeout=10)).document is not None  # and its page
    async with start_bot():
        assert await alice.no_message_within(1.0)


async def test_a_settings_change_on_digest_evening_does_not_send_it(
    server: TelegramTestServer, start_bot
) -> None:
    due = datetime.now(BERLIN) - timedelta(hours=1)  # an hour past the digest time
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 906, tz="Europe/Berlin")
        await add_reflection(db, 906, "I can stay in the room", landed="Stay with it.")
        async with db() as s, s.begin():
            user = await s.get(User, 906)
            assert user is not None
            user.therapy_weekday = (due.weekday() + 1) % 7
            user.therapy_time = time(10)
            user.evening_time = due.time().replace(second=0, microsecond=0)
        from bot.jobs import rebuild_all, reschedule_user

        alice = server.person(user_id=906)
        await reschedule_user(app, 906)  # what /settings does: plan ahead, send nothing now
        assert await alice.no_message_within(1.0)
        (job,) = app.job_queue.get_jobs_by_name("digest:906")
        assert job.next_t > datetime.now(UTC) + timedelta(days=5)
        await rebuild_all(app)  # what a restart does: the missed digest goes out once
        assert "Stay with it." in (await alice.next_message(timeout=5)).text


async def test_a_page_telegram_refuses_is_logged_and_the_digest_still_counts(
    server: TelegramTestServer, start_bot, log_records
) -> None:
    async with start_bot() as app:
        db = db_of(app)
        await add_user(db, 907, therapy_weekday=1, therapy_time=time(17))
        await add_reflection(db, 907, "Quiet is allowed", landed="Quince marmalade words.")
        alice = server.person(user_id=907)
        server.fail_next("sendDocument", status=400)  # not retried (bot/retry.py)
        today = datetime.now(BERLIN).date()
        assert await send_digest(app, 907, today)
        assert "Quince marmalade words." in (await alice.next_message()).text
        assert await alice.no_message_within(0.5)  # no page, and nothing else either
        warnings = [r.getMessage() for r in log_records.records if r.name == "bot.pdf"]
        assert warnings == ["digest page for 907 not delivered: BadRequest"], warnings
        ours = [r.getMessage() for r in log_records.records if r.name.startswith("bot")]
        assert not [line for line in ours if "Quince" in line], ours
        assert not await send_digest(app, 907, today)  # sent, so not again
