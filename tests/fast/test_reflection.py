"""/reflect, every branch: answer, skip, back, redo, edit the whole, save, cancel, resume,
a too-long answer kept, a spoken answer, an edited answer, a stale button."""

from __future__ import annotations

from bot import texts
from storage.models import ReflectionStatus
from tests.support.fast import FastBot
from tests.support.rows import add_user, captures, db_of, reflections_of
from tests.support.speech import FIXTURES, REFERENCES

Q1, Q2, Q3 = (
    texts.REFLECT_QUESTION.format(number=n, question=q)
    for n, q in enumerate(texts.REFLECT_QUESTIONS, 1)
)
REVIEW_BUTTONS = ["✓ Save", "Redo 1", "Redo 2", "Redo 3", "✎ Edit the whole"]


async def _reflecting(bot: FastBot):  # type: ignore[no-untyped-def]
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    cue, intro, first = await bot.texts(alice.command("reflect"))
    assert cue == texts.CUE_NOTHING and intro == texts.REFLECT_INTRO and first == Q1
    return alice


async def _at_review(bot: FastBot):  # type: ignore[no-untyped-def]
    alice = await _reflecting(bot)
    assert await bot.texts(alice.send_text("rest is not a prize")) == [Q2]
    assert await bot.texts(alice.send_text("i stop working until i collapse")) == [Q3]
    [review] = await bot(alice.send_text("I take Sunday afternoon off"))
    assert review.button_texts == REVIEW_BUTTONS
    return alice, review


PARAGRAPH = "Rest is not a prize. I stop working until i collapse. I take Sunday afternoon off."


async def test_three_answers_make_the_paragraph_in_their_words(bot: FastBot) -> None:
    _, review = await _at_review(bot)
    assert review.text == texts.REFLECT_REVIEW.format(paragraph=PARAGRAPH)
    [draft] = await reflections_of(bot.app, 101)
    assert (draft.status, draft.answer_what, draft.answer_do) == (
        ReflectionStatus.DRAFT,
        "rest is not a prize",
        "I take Sunday afternoon off",
    )


async def test_save_stores_the_paragraph_and_offers_a_moment(bot: FastBot) -> None:
    alice, review = await _at_review(bot)
    card, offer = await bot(alice.press("✓ Save"))
    assert card.text.endswith(PARAGRAPH)
    assert offer.text == texts.REFLECT_TRIGGER_OFFER
    assert offer.button_texts == ["⏰ A time", "💬 A situation", "Later"]
    [saved] = await reflections_of(bot.app, 101)
    assert (saved.status, saved.version, saved.paragraph) == (ReflectionStatus.SAVED, 1, PARAGRAPH)
    assert alice.current(review).buttons == []  # it cannot be saved twice
    assert alice.chat.pinned == [card.message_id]


async def test_a_stale_review_button_is_answered_as_gone(bot: FastBot) -> None:
    alice, review = await _at_review(bot)
    await bot(alice.press("✓ Save"))
    assert await bot(alice.press_raw("refl:save", review.message_id)) == []
    assert alice.callback_answers[-1].get("text") == texts.REFLECT_STALE
    assert len(await reflections_of(bot.app, 101)) == 1


async def test_skip_leaves_the_question_out(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    assert await bot.texts(alice.command("skip")) == [Q2]
    await bot(alice.send_text("it frees my evenings"))
    [review] = await bot.texts(alice.send_text("I leave at six"))
    assert review == texts.REFLECT_REVIEW.format(paragraph="It frees my evenings. I leave at six.")


async def test_skipping_all_three_leaves_nothing_to_save(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    for _ in range(3):
        replies = await bot(alice.command("skip"))
    [nothing] = replies
    assert nothing.text == texts.REFLECT_NOTHING and "✓ Save" not in nothing.button_texts


async def test_back_shows_the_answer_so_far_and_keep_moves_on(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    await bot(alice.send_text("rest is not a prize"))
    [so_far] = await bot(alice.command("back"))
    assert so_far.text == texts.REFLECT_SO_FAR.format(question=Q1, answer="rest is not a prize")
    assert await bot.texts(alice.press("Keep")) == [Q2]
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what == "rest is not a prize"


async def test_back_then_a_new_answer_replaces_the_old_one(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    await bot(alice.send_text("rest is not a prize"))
    await bot(alice.command("back"))
    assert await bot.texts(alice.send_text("rest is allowed")) == [Q2]
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what == "rest is allowed"


async def test_back_at_the_first_question_says_so(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    replies = await bot.texts(alice.command("back"))
    assert replies[0] == texts.REFLECT_FIRST and replies[-1] == Q1


async def test_redo_asks_that_question_and_returns_to_the_paragraph(bot: FastBot) -> None:
    alice, _ = await _at_review(bot)
    [ask] = await bot.texts(alice.press("Redo 2"))
    assert ask.startswith(Q2) and "i stop working until i collapse" in ask
    [review] = await bot.texts(alice.send_text("my evenings are mine"))
    assert review == texts.REFLECT_REVIEW.format(
        paragraph="Rest is not a prize. My evenings are mine. I take Sunday afternoon off."
    )


async def test_edit_the_whole_replaces_the_paragraph(bot: FastBot) -> None:
    alice, _ = await _at_review(bot)
    assert await bot.texts(alice.press("✎ Edit the whole")) == [texts.REFLECT_ASK_EDIT]
    [review] = await bot.texts(alice.send_text("Rest is mine. I leave at six."))
    assert review == texts.REFLECT_REVIEW.format(paragraph="Rest is mine. I leave at six.")
    await bot(alice.press("✓ Save"))
    [saved] = await reflections_of(bot.app, 101)
    assert saved.paragraph == "Rest is mine. I leave at six."


async def test_editing_the_whole_wants_typed_text(bot: FastBot) -> None:
    alice, _ = await _at_review(bot)
    await bot(alice.press("✎ Edit the whole"))
    assert await bot.texts(alice.send_sticker()) == [texts.NOT_WORDS, texts.REFLECT_TYPE_EDIT]
    [review] = await bot.texts(alice.command("back"))
    assert review == texts.REFLECT_REVIEW.format(paragraph=PARAGRAPH)


async def test_text_at_the_review_is_kept_as_a_capture(bot: FastBot) -> None:
    alice, _ = await _at_review(bot)
    replies = await bot.texts(alice.send_text("one more thought about rest"))
    assert texts.KEPT_INSTEAD in replies and replies[-1] == texts.REFLECT_REVIEW_HINT
    assert [c.text for c in await captures(bot.app, 101)] == ["one more thought about rest"]


async def test_a_too_long_answer_is_kept_whole_and_asked_again(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    long = " ".join(["word"] * 300)  # 1,499 characters
    replies = await bot.texts(alice.send_text(long))
    assert texts.REFLECT_KEPT_LONG.format(length=len(long), limit=1300) in replies
    assert replies[-1] == Q1
    [row] = await captures(bot.app, 101)
    assert row.text == long
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what is None


async def test_cancel_pauses_and_reflect_resumes_at_that_question(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    await bot(alice.send_text("rest is not a prize"))
    assert await bot.texts(alice.command("cancel")) == [texts.REFLECT_PAUSED.format(number=2)]
    await bot(alice.send_text("a capture now, not an answer"))
    assert [c.text for c in await captures(bot.app, 101)] == ["a capture now, not an answer"]
    back, question = await bot.texts(alice.command("reflect"))
    assert back == texts.REFLECT_WELCOME_BACK.format(number=2) and question == Q2
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what == "rest is not a prize"


async def test_cancel_at_the_review_resumes_at_the_paragraph(bot: FastBot) -> None:
    alice, _ = await _at_review(bot)
    assert await bot.texts(alice.command("cancel")) == [texts.REFLECT_PAUSED_REVIEW]
    back, review = await bot.texts(alice.command("reflect"))
    assert back == texts.REFLECT_WELCOME_BACK_REVIEW
    assert review == texts.REFLECT_REVIEW.format(paragraph=PARAGRAPH)


async def test_a_spoken_answer_is_confirmed_then_stored(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    [heard] = await bot(alice.send_voice(FIXTURES / "speech_03.ogg"))
    assert heard.text == texts.REFLECT_HEARD.format(text=REFERENCES["speech_03.ogg"])
    assert await bot.texts(alice.press("✓ Yes")) == [Q2]
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what == REFERENCES["speech_03.ogg"]


async def test_a_misheard_answer_can_be_typed_instead(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    await bot(alice.send_voice(FIXTURES / "speech_03.ogg"))
    assert await bot.texts(alice.press("✎ Fix")) == [texts.REFLECT_TYPE_FIX]
    assert await bot.texts(alice.send_text("I can say no")) == [Q2]
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what == "I can say no"


async def test_an_unplayable_memo_as_an_answer_says_so(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    replies = await bot.texts(alice.send_voice(FIXTURES / "random.ogg"))
    assert replies == [texts.REFLECT_UNDECODABLE]
    assert await bot.texts(alice.send_text("typed instead")) == [Q2]


async def test_editing_an_answer_while_open_changes_it(bot: FastBot) -> None:
    alice = await _reflecting(bot)
    first = alice.send_text("rest is a prize")
    await bot(first)
    changed = await bot.texts(alice.edit_message(first, "rest is not a prize"))
    assert changed == [texts.EDIT_ANSWER_CHANGED.format(number=1)]
    [draft] = await reflections_of(bot.app, 101)
    assert draft.answer_what == "rest is not a prize"


async def test_editing_an_answer_after_saving_changes_nothing(bot: FastBot) -> None:
    await add_user(db_of(bot.app), 101)
    alice = bot.person()
    await bot(alice.command("reflect"))
    first = alice.send_text("rest is not a prize")
    await bot(first)
    await bot(alice.command("skip"))
    await bot(alice.command("skip"))
    await bot(alice.press("✓ Save"))
    assert await bot.texts(alice.edit_message(first, "rest is a prize")) == [
        texts.EDIT_ANSWER_SAVED
    ]
    [saved] = await reflections_of(bot.app, 101)
    assert saved.answer_what == "rest is not a prize"


async def test_reflecting_again_makes_a_second_version(bot: FastBot) -> None:
    alice, _ = await _at_review(bot)
    await bot(alice.press("✓ Save"))
    replies = await bot.texts(alice.command("reflect"))
    assert texts.REFLECT_AGAIN in replies and replies[-1] == Q1
    await bot(alice.send_text("second time"))
    await bot(alice.command("skip"))
    await bot(alice.command("skip"))
    await bot(alice.press("✓ Save"))
    first, second = await reflections_of(bot.app, 101)
    assert (first.version, first.status) == (1, ReflectionStatus.SUPERSEDED)
    assert (second.version, second.status, second.paragraph) == (
        2,
        ReflectionStatus.SAVED,
        "Second time.",
    )
