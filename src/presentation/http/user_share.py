"""Each user's requests in progress in this process, capped: one account cannot hold every
turn of the event loop and every storage call in flight while the others wait behind it.
Past the cap the request is answered `429`, with no storage call (docs/decisions/017)."""

from aiohttp import web

from kv_api.application.errors import TooManyInFlight
from kv_api.application.ports import Session
from kv_api.presentation.http.auth import SESSION_KEY

# A watch waits for most of its life, holding nothing but a slot of the change feed, which
# has caps of its own.
UNCAPPED_ROUTES = frozenset({"/api/watch"})


# A refusal is answered this long after its request arrives: a client that resends
# at once would otherwise make its refusals a loop that costs the process about as much as
# serving it, and the others would gain nothing (docs/performance.md, noisy neighbour).
REFUSAL_HOLD_S = 1.0


class UserShare:
    def __init__(
        self,
        limit: int,
        uncapped: frozenset[str] = UNCAPPED_ROUTES,
        hold: float = REFUSAL_HOLD_S,
    ) -> None:
        self.limit = limit
        self.hold = hold
        self._uncapped = uncapped
        self._counts: dict[int, int] = {}

    def enter(self, request: web.Request) -> int | None:
        """The user id now holding one more of its requests, or None for a request not counted
        (no session: public routes; a route not capped). Raises TooManyInFlight."""
        session: Session | None = request.get(SESSION_KEY)
        resource = request.match_info.route.resource
        if session is None or (resource is not None and resource.canonical in self._uncapped):
            return None
        user_id = session.user_id
        count = self._counts.get(user_id, 0)
        if count >= self.limit:
            raise TooManyInFlight(self.limit)
        self._counts[user_id] = count + 1
        return user_id

    def leave(self, user_id: int) -> None:
        count = self._counts[user_id] - 1
        if count:
            self._counts[user_id] = count
        else:
            del self._counts[user_id]

    def holding(self, user_id: int) -> int:
        return self._counts.get(user_id, 0)
