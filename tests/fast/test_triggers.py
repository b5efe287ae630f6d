"""/trigger, every branch: a typed time, a bad time, day and hour buttons, a situation, the
"keep it as a situation?" question answered yes, no or with a time, /cancel, Later."""

from __future__ import annotations

from bot import texts
from storage.models import TriggerKind
from tests.support.fast import FastBot
from tests.support.rows import add_reflection, add_user, captures, db_of, triggers_of


async def _with_paragraph(bot: FastBot):  # type: ignore[no-untyped-def]
    db = db_of(bot.app)
    await add_user(db, 101)
    await add_reflection(db, 101, "I can say no")
    return bot.person()


async def _asking_time(bot: FastBot):  # type: ignore[no-untyped-def]
    alice = await _with_paragraph(bot)
    [choose] = await bot(alice.command("trigger"))
    assert choose.text == texts.TRG_CHOOSE.format(headline="I can say no")
    assert choose.button_texts == [texts.TRG_BUTTON_TIME, texts.TRG_BUTTON_SITUATION]
    [ask] = await bot(alice.press(texts.TRG_BUTTON_TIME))
    assert ask.text == texts.TRG_ASK_TIME and "Tomorrow" in ask.button_texts
    return alice


async def test_trigger_needs_a_paragraph_first(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    assert await bot.texts(alice.command("trigger")) == [texts.TRG_NEEDS_REFLECTION]


async def test_a_typed_time_sets_a_one_off_moment_and_schedules_it(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    [confirm] = await bot(alice.send_text("thu 08:00 morning walk"))
    assert confirm.text.startswith("Set: Thursday ") and "morning walk" in confirm.text
    [row] = await triggers_of(db_of(bot.app), 101)
    assert (row.kind, row.recurrence, row.cue) == (TriggerKind.TIME, "once", "morning walk")
    assert bot.app.job_queue.get_jobs_by_name(f"trigger:{row.id}")


async def test_trigger_with_the_time_on_the_command_line(bot: FastBot) -> None:
    alice = await _with_paragraph(bot)
    [confirm] = await bot(alice.command("trigger", "every", "weekday", "8:30"))
    assert confirm.text.startswith("Set: every weekday at 08:30")
    [row] = await triggers_of(db_of(bot.app), 101)
    assert (row.recurrence, row.weekdays) == ("weekdays", "0,1,2,3,4")


async def test_a_bad_time_is_explained_and_the_question_stays_open(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    [bad] = await bot.texts(alice.send_text("thu 25:00"))
    assert bad.startswith("I didn't understand that time.")
    assert await triggers_of(db_of(bot.app), 101) == []
    [confirm] = await bot.texts(alice.send_text("tomorrow 7pm"))
    assert confirm.startswith("Set: ") and "19:00" in confirm


async def test_a_day_button_then_an_hour_button(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    [hour] = await bot(alice.press("Thu"))
    assert "at what time?" in hour.text
    label = next(t for t in hour.button_texts if t.startswith("08"))
    [confirm] = await bot.texts(alice.press(label))
    assert confirm.startswith("Set: ") and "08:00" in confirm


async def test_a_situation_is_saved_as_a_cue(bot: FastBot) -> None:
    alice = await _with_paragraph(bot)
    await bot(alice.command("trigger"))
    assert await bot.texts(alice.press(texts.TRG_BUTTON_SITUATION)) == [texts.TRG_ASK_SITUATION]
    [saved] = await bot.texts(alice.send_text("when my partner brings up money"))
    assert "“when my partner brings up money”" in saved and "/recall money" in saved
    [row] = await triggers_of(db_of(bot.app), 101)
    assert (row.kind, row.keywords, row.next_fire_at) == (
        TriggerKind.SITUATION,
        "partner bring money",
        None,
    )


async def test_a_sentence_for_a_time_is_offered_as_a_situation_yes(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    [offer] = await bot(alice.send_text("after dinner with my sister"))
    assert offer.text.startswith("That doesn't read like a time to me.")
    assert offer.button_texts == [texts.TRG_BUTTON_YES_SITUATION, texts.TRG_BUTTON_NO_TIME]
    [saved] = await bot.texts(alice.press(texts.TRG_BUTTON_YES_SITUATION))
    assert saved.startswith("Saved as a situation: “after dinner with my sister”")
    [row] = await triggers_of(db_of(bot.app), 101)
    assert row.kind == TriggerKind.SITUATION


async def test_a_sentence_for_a_time_offered_as_a_situation_no(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    await bot(alice.send_text("after dinner with my sister"))
    [ask] = await bot.texts(alice.press(texts.TRG_BUTTON_NO_TIME))
    assert ask == texts.TRG_ASK_TIME
    assert await triggers_of(db_of(bot.app), 101) == []
    [confirm] = await bot.texts(alice.send_text("fri 18:00"))
    assert confirm.startswith("Set: Friday ")


async def test_a_typed_time_answers_the_situation_question(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    await bot(alice.send_text("after dinner with my sister"))
    [confirm] = await bot.texts(alice.send_text("sat 10:00"))
    assert confirm.startswith("Set: Saturday ")
    [row] = await triggers_of(db_of(bot.app), 101)
    assert row.kind == TriggerKind.TIME


async def test_other_text_at_the_situation_question_is_kept(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    await bot(alice.send_text("after dinner with my sister"))
    replies = await bot.texts(alice.send_text("that reminds me of something else entirely"))
    assert texts.KEPT_INSTEAD in replies
    assert [c.text for c in await captures(bot.app, 101)] == [
        "that reminds me of something else entirely"
    ]
    assert await triggers_of(db_of(bot.app), 101) == []


async def test_cancel_sets_no_moment(bot: FastBot) -> None:
    alice = await _asking_time(bot)
    assert await bot.texts(alice.command("cancel")) == [texts.TRG_CANCELLED]
    await bot(alice.send_text("thu 08:00"))  # a capture now
    assert await triggers_of(db_of(bot.app), 101) == []
    assert [c.text for c in await captures(bot.app, 101)] == ["thu 08:00"]


async def test_later_on_the_reflection_offer(bot: FastBot) -> None:
    alice = await _with_paragraph(bot)
    [later] = await bot.texts(alice.press_raw("trg:later", 1))
    assert later == texts.TRG_LATER


async def test_triggers_lists_pauses_and_deletes(bot: FastBot) -> None:
    alice = await _with_paragraph(bot)
    await bot(alice.command("trigger", "thu", "08:00", "morning", "walk"))
    [listing] = await bot(alice.command("triggers"))
    assert listing.text.startswith("Your moments:") and "morning walk" in listing.text
    await bot(alice.press("1 ⏸ Pause"))
    [row] = await triggers_of(db_of(bot.app), 101)
    assert row.status.value == "paused"
    assert not bot.app.job_queue.get_jobs_by_name(f"trigger:{row.id}")
    await bot(alice.press("1 🗑 Delete"))
    assert await triggers_of(db_of(bot.app), 101) == []
