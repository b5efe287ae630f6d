"""Users: one row per person, created on first contact, keyed by Telegram user id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User


class UserRepository:
    """Reads and writes `users`; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_or_create(self, user_id: int, chat_id: int, default_timezone: str) -> User:
        """Returns the person's row, creating it with the default time zone on first contact."""
        user = await self.session.get(User, user_id)
        if user is None:
            user = User(id=user_id, chat_id=chat_id, timezone=default_timezone)
            self.session.add(user)
            await self.session.flush()
        elif user.chat_id != chat_id:
            user.chat_id = chat_id
        return user

    async def everyone(self) -> list[User]:
        """Every person, for rebuilding jobs at startup (schedulers read rows, never content)."""
        result = await self.session.scalars(select(User).order_by(User.id))
        return list(result)
