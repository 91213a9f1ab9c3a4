// Notifications: mentions, likes, retweets, replies, quotes and follows, newest first, live; opening the page
// marks them read (the unread badge goes to zero).

import { avatar, h, icon } from "../dom.js";
import { pagedList } from "../tweet-list.js";
import { fullTime, relativeTime } from "../text.js";
import { compareIds } from "../api.js";

const VERBS = {
  mention: ["mentioned you", "reply"],
  like: ["liked your tweet", "like"],
  retweet: ["retweeted your tweet", "retweet"],
  reply: ["replied to your tweet", "reply"],
  quote: ["quoted your tweet", "quote"],
  follow: ["followed you", "user"],
};

export function notificationItem(ctx, n) {
  const [verb, iconName] = VERBS[n.type] ?? ["did something", "bell"];
  const actorUrl = `#/u/${encodeURIComponent(n.actor.username)}`;
  const target = n.tweet_id ? `#/t/${n.tweet_id}` : actorUrl;
  return h(
    "article",
    { class: `notification notification-${n.type}${n.read ? "" : " unread"}`, dataset: { id: n.notification_id } },
    h("span", { class: `notification-icon icon-${n.type}` }, icon(iconName)),
    avatar(n.actor.username, "avatar-small"),
    h(
      "div",
      { class: "notification-text" },
      h(
        "p",
        {},
        h("a", { href: actorUrl, class: "strong-link" }, `@${n.actor.username}`),
        " ",
        h("a", { href: target }, verb),
        n.read ? null : h("span", { class: "sr-only" }, " (new)"),
      ),
      n.tweet_id ? tweetSnippet(ctx, n.tweet_id) : null,
    ),
    h("time", { datetime: n.created_at, title: fullTime(n.created_at), class: "muted small" }, relativeTime(n.created_at)),
  );
}

/** The tweet a notification is about, as one line of text (loaded on demand, cached). */
function tweetSnippet(ctx, id) {
  const snippet = h("p", { class: "notification-snippet muted" });
  ctx
    .getTweet(id)
    .then((tweet) => {
      snippet.textContent = tweet.content;
    })
    .catch(() => snippet.remove());
  return snippet;
}

export function notificationsView(ctx) {
  let newestSeen = null;
  const list = pagedList({
    label: "Notifications",
    empty: "No notifications yet. Likes, replies, mentions and new followers show up here.",
    keyOf: (n) => n.notification_id,
    render: (n) => notificationItem(ctx, n),
    load: async (cursor) => {
      const page = await ctx.api.notifications(cursor);
      if (!cursor) markRead(page.notifications[0]?.notification_id);
      return { items: page.notifications, nextCursor: page.has_more ? page.next_cursor : null };
    },
  });

  async function markRead(id) {
    if (!id || (newestSeen && compareIds(id, newestSeen) <= 0)) return;
    newestSeen = id;
    try {
      const result = await ctx.api.markNotificationsRead(id);
      ctx.setUnread(result.unread_count ?? 0); // a 202 (async write path) has no count: all seen were marked
    } catch {
      /* the badge stays; nothing else depends on it */
    }
  }

  const onLive = (event) => {
    list.prepend([event.detail.notification]);
    markRead(event.detail.notification.notification_id);
  };

  const el = h(
    "div",
    { class: "view view-notifications" },
    h("div", { class: "view-header" }, h("h1", { tabindex: "-1" }, "Notifications")),
    list.el,
  );
  return {
    el,
    title: "Notifications",
    mount() {
      ctx.live.addEventListener("notification", onLive);
      list.start();
    },
    unmount() {
      ctx.live.removeEventListener("notification", onLive);
      list.destroy();
    },
  };
}
