"""Profiles and the follow graph. Following merges the followee's recent tweets into the follower's timeline at
once; unfollowing takes them out."""

from __future__ import annotations

from chirp import api_models as api
from chirp.errors import Forbidden, NotFound
from chirp.model import EventType, Page, SafetySets, UserFollowed, UserRecord, UserUnfollowed, now_ms
from chirp.services.avatars import avatar_url
from chirp.services.feed import FeedManager
from chirp.services.realtime import RealtimeService
from chirp.services.safety import Safety
from chirp.services.stores import Stores
from chirp.services.views import iso, user_summary
from chirp.tokens import Principal

SUGGESTION_SAMPLE = 200  # followees whose follows "who to follow" counts (the newest ones)


class SocialService:
    def __init__(self, stores: Stores, feed: FeedManager, realtime: RealtimeService) -> None:
        self._s = stores
        self._feed = feed
        self._realtime = realtime
        self.safety = Safety(stores)

    def user(self, username: str) -> UserRecord:
        user = self._s.users.get_by_username(username.lstrip("@"))
        if user is None:
            raise NotFound(f"user @{username} does not exist")
        return user

    def profile(self, viewer: Principal | None, username: str) -> api.Profile:
        """A signed-out reader (None) gets the same profile without the relationship flags' truth (both false)."""
        user = self.user(username)
        self.safety.refuse_if_blocked(viewer.user_id if viewer else None, user.user_id)
        sets = self.safety.sets(viewer.user_id) if viewer is not None else SafetySets()
        followers, following = self._s.graph.counts(user.user_id)
        return {
            "user_id": str(user.user_id),
            "username": user.username,
            "display_name": user.display_name,
            "bio": user.bio,
            "avatar_url": avatar_url(self._s.media_url_base, user.user_id, user.avatar_media_id),
            "created_at": iso(user.created_at_ms),
            "follower_count": followers,
            "following_count": following,
            "tweet_count": self._s.tweets.count_by_author(user.user_id),
            "followed_by_me": viewer is not None
            and bool(self._s.graph.following_among(viewer.user_id, [user.user_id])),
            "follows_me": viewer is not None and bool(self._s.graph.following_among(user.user_id, [viewer.user_id])),
            "blocking": user.user_id in sets.blocking,
            "muting": user.user_id in sets.muting,
        }

    def follow(self, viewer: Principal, username: str) -> api.Relationship:
        followee = self.user(username)
        if followee.user_id == viewer.user_id:
            raise Forbidden("you cannot follow yourself", code="cannot_follow_self")
        sets = self.safety.sets(viewer.user_id)
        if followee.user_id in sets.blocked_by:
            raise Forbidden(f"@{followee.username} has blocked you", code="blocked")
        if followee.user_id in sets.blocking:
            raise Forbidden(f"you block @{followee.username}: unblock first", code="blocking")
        self.set_following(viewer, followee, on=True)
        return self._relationship(viewer, followee)

    def unfollow(self, viewer: Principal, username: str) -> api.Relationship:
        followee = self.user(username)
        self.set_following(viewer, followee, on=False)
        return self._relationship(viewer, followee)

    def set_following(self, viewer: Principal, followee: UserRecord, *, on: bool) -> None:
        """Follow (never oneself: the callers check) or unfollow: the Lambda path's, and the actions consumer's for
        an intent accepted straight onto the stream. Idempotent: only a change moves timelines and publishes. A
        follow between accounts with a block either way is dropped (the intent's sender got its 202 already)."""
        if on and followee.user_id in self.safety.sets(viewer.user_id).hidden:
            return
        if on and self._s.graph.follow(viewer.user_id, followee.user_id, now_ms()):
            self._feed.on_follow(viewer.user_id, followee.user_id)
            if self._feed.is_celebrity(followee.user_id):
                self._realtime.subscribe_user(viewer.user_id, [followee.user_id])
            followed = UserFollowed(
                follower_id=viewer.user_id, follower_username=viewer.username, followee_id=followee.user_id
            )
            self._s.stream.publish([followed.event(EventType.USER_FOLLOWED, followee.user_id)])
        elif not on and self._s.graph.unfollow(viewer.user_id, followee.user_id):
            self._feed.on_unfollow(viewer.user_id, followee.user_id)
            self._realtime.unsubscribe_user(viewer.user_id, [followee.user_id])
            unfollowed = UserUnfollowed(follower_id=viewer.user_id, followee_id=followee.user_id)
            self._s.stream.publish([unfollowed.event(EventType.USER_UNFOLLOWED, followee.user_id)])

    def _relationship(self, viewer: Principal, followee: UserRecord) -> api.Relationship:
        followers, _ = self._s.graph.counts(followee.user_id)
        following = bool(self._s.graph.following_among(viewer.user_id, [followee.user_id]))
        return {"username": followee.username, "following": following, "follower_count": followers}

    def followers(self, viewer: Principal, username: str, *, cursor: str | None, count: int) -> api.UserPage:
        user = self.user(username)
        return self._user_page(viewer, self._s.graph.followers_page(user.user_id, cursor=cursor, limit=count))

    def following(self, viewer: Principal, username: str, *, cursor: str | None, count: int) -> api.UserPage:
        user = self.user(username)
        return self._user_page(viewer, self._s.graph.following_page(user.user_id, cursor=cursor, limit=count))

    def _user_page(self, viewer: Principal, page: Page[int]) -> api.UserPage:
        return {"users": self.user_list(viewer, page.items), "next_cursor": page.next_cursor, "has_more": page.has_more}

    def user_list(self, viewer: Principal, user_ids: list[int]) -> list[api.UserSummary]:
        users = self._s.users.get_many(user_ids)
        followed = self._s.graph.following_among(viewer.user_id, user_ids)
        counts = self._s.graph.follower_counts(user_ids)
        return [
            user_summary(users[u], follower_count=counts.get(u, 0), followed_by_me=u in followed)
            for u in user_ids
            if u in users
        ]

    def suggestions(self, viewer: Principal, *, count: int) -> api.Suggestions:
        """Who to follow: accounts followed by the people the viewer follows (the newest ``SUGGESTION_SAMPLE`` of
        them, so a big account costs the same), that the viewer does not follow, ranked by how many of them do."""
        ranked = self._s.graph.suggestions(viewer.user_id, sample=SUGGESTION_SAMPLE, limit=count)
        overlap = dict(ranked)
        users = self.user_list(viewer, [u for u, _ in ranked])
        return {"users": [{**u, "followed_by_followees": overlap[int(u["user_id"])]} for u in users]}
