"""Users: one row per person, created on first contact, keyed by Telegram user id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.db import insert_unless_present
from storage.models import User


class UserRepository:
    """Reads and writes `users`; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_or_create(self, user_id: int, chat_id: int, default_timezone: str) -> User:
        """Returns the person's row, creating it with the default time zone on first contact.

        Safe when several updates of a new person arrive at once: the row is inserted only if
        absent (ON CONFLICT DO NOTHING), then read, so every caller gets the one row.
        """
        # one query with the therapy dates joined (the relationship's selectin costs a second)
        with_dates = [joinedload(User.therapy_dates)]
        user = await self.session.get(User, user_id, options=with_dates)
        if user is None:
            await self.session.execute(
                insert_unless_present(
                    self.session,
                    User,
                    ["id"],
                    id=user_id,
                    chat_id=chat_id,
                    timezone=default_timezone,
                )
            )
            user = await self.session.get(User, user_id, options=with_dates)
            assert user is not None  # inserted now, or by whoever won the race (committed)
        if user.chat_id != chat_id:
            user.chat_id = chat_id
        return user

    async def everyone(self) -> list[User]:
        """Every person, for rebuilding jobs at startup (schedulers read rows, never content)."""
        result = await self.session.scalars(select(User).order_by(User.id))
        return list(result)
