// A tweet's thread: the tweets it replies to (up to a few levels), the tweet itself, a reply box, and the replies
// (oldest first, paged).

import { h } from "../dom.js";
import { composer } from "../composer.js";
import { pagedList } from "../tweet-list.js";
import { tweetCard } from "../tweet-card.js";

const MAX_ANCESTORS = 5;

export function threadView(ctx, tweetId) {
  const ancestors = h("div", { class: "thread-ancestors" });
  const main = h("div", { class: "thread-main" }, h("p", { class: "muted" }, "Loading…"));
  const replyBox = h("div", { class: "thread-reply" });
  const replies = pagedList({
    label: "Replies",
    empty: "No replies yet.",
    keyOf: (t) => t.tweet_id,
    render: (t) => tweetCard(ctx, t),
    load: async (cursor) => {
      const page = await ctx.api.replies(tweetId, cursor);
      return { items: page.tweets, nextCursor: page.has_more ? page.next_cursor : null };
    },
  });
  const onCreated = (event) => {
    if (event.detail.reply_to === tweetId) replies.append([event.detail]);
  };

  async function load() {
    let tweet;
    try {
      tweet = await ctx.getTweet(tweetId, { fresh: true });
    } catch (error) {
      main.replaceChildren(h("p", { class: "muted" }, error.status === 404 ? "This tweet was deleted or never existed." : error.message));
      replies.el.hidden = true;
      return;
    }
    main.replaceChildren(tweetCard(ctx, tweet, { focused: true }));
    replyBox.replaceChildren(composer(ctx, { replyTo: tweet }).el);
    let parentId = tweet.reply_to;
    for (let depth = 0; parentId && depth < MAX_ANCESTORS; depth += 1) {
      try {
        const parent = await ctx.getTweet(parentId);
        ancestors.prepend(tweetCard(ctx, parent));
        parentId = parent.reply_to;
      } catch {
        ancestors.prepend(h("p", { class: "muted tweet-missing" }, "This tweet is unavailable."));
        break;
      }
    }
  }

  const el = h(
    "div",
    { class: "view view-thread" },
    h("div", { class: "view-header" }, h("h1", { tabindex: "-1" }, "Thread")),
    ancestors,
    main,
    replyBox,
    h("h2", { class: "section-title" }, "Replies"),
    replies.el,
  );
  return {
    el,
    title: "Thread",
    mount() {
      ctx.events.addEventListener("tweet-created", onCreated);
      load();
      replies.start();
    },
    unmount() {
      ctx.events.removeEventListener("tweet-created", onCreated);
      replies.destroy();
    },
  };
}
