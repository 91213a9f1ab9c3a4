// Bookmarks: the tweets the reader saved, newest tweet first. Private (only the reader's token lists them); each
// card's bookmark button is pressed here, and un-pressing it removes the bookmark.

import { h } from "../dom.js";
import { pagedList } from "../tweet-list.js";
import { tweetCard } from "../tweet-card.js";

export function bookmarksView(ctx) {
  const list = pagedList({
    label: "Bookmarks",
    empty: "No bookmarks yet. Bookmark a tweet to find it here later.",
    keyOf: (t) => t.tweet_id,
    render: (t) => tweetCard(ctx, t, { bookmarked: true }),
    load: async (cursor) => {
      const page = await ctx.api.bookmarks(cursor);
      return { items: page.tweets, nextCursor: page.has_more ? page.next_cursor : null };
    },
  });
  const el = h(
    "div",
    { class: "view view-bookmarks" },
    h("div", { class: "view-header" }, h("h1", { tabindex: "-1" }, "Bookmarks")),
    list.el,
  );
  return {
    el,
    title: "Bookmarks",
    mount() {
      list.start();
    },
    unmount() {
      list.destroy();
    },
  };
}
