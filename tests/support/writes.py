"""A repository whose `write` takes pairs, as the tests write them: each batch is prepared by
the encoder made for that repository first, as the write route does."""

from collections.abc import Mapping
from typing import Any

from kv_api.application.ports import BatchEncoder, Session, WriteOptions, WriteOutcome


class PairWrites:
    def __init__(self, repo: Any, encoder: BatchEncoder) -> None:
        self.repo = repo
        self.encoder = encoder

    async def write(
        self, session: Session, items: Mapping[str, Any], options: WriteOptions
    ) -> WriteOutcome:
        outcome: WriteOutcome = await self.repo.write(
            session, self.encoder.from_items(items), options
        )
        return outcome

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)
