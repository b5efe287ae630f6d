"""Forged buttons across every flow: a callback naming someone else's row changes nothing."""

from __future__ import annotations

import time

from sqlalchemy import select

from storage.models import Recall, Trigger
from storage.personal import PersonalDataRepository
from tests.support.seed import seed
from tests.support.telegram_server import TelegramTestServer


async def test_forged_callbacks_never_touch_or_show_someone_elses_rows(
    server: TelegramTestServer, start_bot
) -> None:
    async with start_bot() as app:
        mine = await seed(app, 101, "alicetag")
        theirs = await seed(app, 202, "bobtag")
        async with app.bot_data.sessionmaker() as s:
            before = await PersonalDataRepository(s).collect(202)
        alice = server.person(user_id=101, first_name="Alice")
        alice.send_text("a message to press buttons on")
        card = await alice.next_message()
        c, r, t, rc = theirs["voice"], theirs["reflection"], theirs["walk"], theirs["recall"]
        forged = [
            *(f"cap:{action}:{c}" for action in ("land", "fix", "del", "delok", "keep")),
            f"trg:time:{r}",
            f"trg:sit:{r}",
            *(f"tg:{action}:{t}" for action in ("pause", "del", "undo", "weekly", "edit")),
            f"tg:pause:{theirs['money']}",
            f"rc:read:{rc}",
            f"rc:helped:{rc}:0",
            f"rc:nav:{rc}:{r}",
            f"rc:nav:{mine['recall']}:{r}",  # her own recall, pointed at his paragraph
            f"rc:nav:{mine['recall']}:{theirs['first']}",
            f"fu:{rc}:n",
            f"priv:yes:202:{int(time.time())}:deadbeef",
            f"priv:yes:101:{int(time.time())}:deadbeef",  # her id, but never offered
        ]
        for data in forged:
            alice.press_raw(data, card.message_id)
        answered = await server.wait_for(lambda: len(alice.callback_answers) == len(forged), 20)
        assert answered, f"{len(alice.callback_answers)} of {len(forged)} presses answered"
        await server.wait_delivered()
        alice.command("help")  # processed after every press
        while "Commands:" not in (await alice.next_message()).text:
            pass

        async with app.bot_data.sessionmaker() as s:
            after = await PersonalDataRepository(s).collect(202)
            hers = await PersonalDataRepository(s).collect(101)
            triggers = list(await s.scalars(select(Trigger).where(Trigger.user_id == 101)))
            recalls = list(await s.scalars(select(Recall).where(Recall.user_id == 101)))
        assert after.tables == before.tables  # not one field of his changed
        assert hers.user is not None  # and nothing of hers was deleted either
        his = {theirs["reflection"], theirs["first"]}
        assert not any(row.reflection_id in his for row in [*triggers, *recalls])
        shown = [m.text or "" for m in alice.messages] + [e.text or "" for e in alice.edits]
        assert not any("bobtag" in text for text in shown)
