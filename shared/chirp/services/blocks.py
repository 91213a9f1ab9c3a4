"""Blocking and muting (the write side; the rules that hide accounts are ``chirp.services.safety``).

Both are durable graph edges beside the follows (Neptune edges ``blocks`` / ``mutes``, the embedded graph's
``relations`` table): the graph already answers "who is related to whom" in one read, and "who to follow" leaves
blocked accounts out inside its own traversal. A block unfollows both ways through the same path as an unfollow
(timelines unmerge, live subscriptions end, USER_UNFOLLOWED is published); unblocking does not restore the follows
(as on Twitter). Every change drops the cached safety sets of the accounts it touches."""

from __future__ import annotations

from chirp import api_models as api
from chirp.errors import Forbidden
from chirp.model import Relation, now_ms
from chirp.services.social import SocialService
from chirp.services.stores import Stores
from chirp.tokens import Principal

LIST_LIMIT = 1000  # accounts one blocks (mutes) list shows, newest first


class BlockService:
    def __init__(self, stores: Stores, social: SocialService) -> None:
        self._s = stores
        self._social = social

    def set_block(self, viewer: Principal, username: str, *, on: bool) -> api.SafetyState:
        other = self._social.user(username)
        if other.user_id == viewer.user_id:
            raise Forbidden("you cannot block yourself", code="cannot_block_self")
        if on:
            # The edge first: a follow racing this block is refused from here on (it reads the sets again).
            self._s.graph.add_relation(viewer.user_id, other.user_id, "blocks", now_ms())
            self._social.safety.changed(viewer.user_id, other.user_id)
            self._social.set_following(viewer, other, on=False)
            me = self._s.users.get(viewer.user_id)
            if me is not None:
                self._social.set_following(Principal(user_id=other.user_id, username=other.username), me, on=False)
        else:
            self._s.graph.remove_relation(viewer.user_id, other.user_id, "blocks")
            self._social.safety.changed(viewer.user_id, other.user_id)
        return self._state(viewer, other.username, other.user_id)

    def set_mute(self, viewer: Principal, username: str, *, on: bool) -> api.SafetyState:
        other = self._social.user(username)
        if other.user_id == viewer.user_id:
            raise Forbidden("you cannot mute yourself", code="cannot_mute_self")
        if on:
            self._s.graph.add_relation(viewer.user_id, other.user_id, "mutes", now_ms())
        else:
            self._s.graph.remove_relation(viewer.user_id, other.user_id, "mutes")
        self._social.safety.changed(viewer.user_id, other.user_id)  # the muted one's sets list who mutes them
        return self._state(viewer, other.username, other.user_id)

    def listed(self, viewer: Principal, relation: Relation) -> api.UserList:
        """The accounts the viewer blocks (mutes), newest first."""
        ids = self._s.graph.relation_ids(viewer.user_id, relation, limit=LIST_LIMIT)
        return {"users": self._social.user_list(viewer, ids)}

    def _state(self, viewer: Principal, username: str, other_id: int) -> api.SafetyState:
        sets = self._social.safety.sets(viewer.user_id)
        return {"username": username, "blocking": other_id in sets.blocking, "muting": other_id in sets.muting}
