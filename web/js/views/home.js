// The home timeline: composer, infinite scroll, and live tweets. New tweets from the WebSocket wait behind a
// "N new tweets" bar (the list never moves under the reader); after a reconnect the gap is filled over REST.

import { h } from "../dom.js";
import { composer } from "../composer.js";
import { pagedList } from "../tweet-list.js";
import { tweetCard } from "../tweet-card.js";
import { compareIds } from "../api.js";
import { plural } from "../text.js";

export function homeView(ctx) {
  const list = pagedList({
    label: "Home timeline",
    empty: "Your timeline is empty. Follow people or write your first tweet.",
    keyOf: (t) => t.tweet_id,
    render: (t) => tweetCard(ctx, t),
    load: async (cursor) => {
      const page = await ctx.api.home(cursor);
      return { items: page.tweets, nextCursor: page.has_more ? page.next_cursor : null };
    },
  });

  const pending = new Map(); // tweet_id -> tweet, newest shown first when revealed
  const bar = h("button", { type: "button", class: "new-tweets-bar", hidden: true, onclick: reveal });
  const announcer = h("p", { class: "sr-only", "aria-live": "polite" });
  const liveStatus = h("span", { class: "live-status", role: "status" });
  const box = composer(ctx, {});

  function queue(tweets) {
    let added = 0;
    for (const tweet of tweets) {
      if (list.has(tweet.tweet_id) || pending.has(tweet.tweet_id) || alreadyShown(tweet)) continue;
      pending.set(tweet.tweet_id, tweet);
      added += 1;
    }
    renderBar();
    if (added) announcer.textContent = plural(pending.size, "new tweet");
  }

  // A pushed retweet of a tweet already on screen (itself or retweeted): the server's rule (once per timeline)
  // decides on read; the push goes to every online follower.
  function alreadyShown(tweet) {
    const original = tweet.retweet_of?.tweet_id;
    if (!original) return false;
    const queued = [...pending.values()].some((t) => (t.retweet_of?.tweet_id ?? t.tweet_id) === original);
    return queued || list.el.querySelector(`[data-tweet-id="${CSS.escape(original)}"]`) !== null;
  }

  function renderBar() {
    bar.hidden = pending.size === 0;
    const text = plural(pending.size, "new tweet");
    bar.textContent = `↑ ${text}`;
    bar.setAttribute("aria-label", `Show ${text}`);
  }

  function reveal() {
    const tweets = [...pending.values()].sort((a, b) => compareIds(b.tweet_id, a.tweet_id));
    pending.clear();
    renderBar();
    list.prepend(tweets);
    window.scrollTo({ top: 0 });
    list.el.querySelector("article")?.focus({ preventScroll: true });
  }

  function newest() {
    const candidates = [list.newestKey(), ...pending.keys()].filter(Boolean);
    return candidates.sort((a, b) => compareIds(b, a))[0] ?? null;
  }

  async function fillGap() {
    try {
      if (!list.loaded) return; // the first page is still loading and will include them
      const since = newest();
      const tweets = since ? (await ctx.api.newerThan(since)).tweets : (await ctx.api.home(null)).tweets;
      queue(tweets);
    } catch {
      /* a failed gap fill is retried on the next reconnect */
    }
  }

  const onTweet = (event) => queue([event.detail.tweet]);
  const onStatus = (event) => showStatus(event.detail);
  const onCreated = (event) => {
    pending.delete(event.detail.tweet_id);
    list.prepend([event.detail]);
    renderBar();
  };

  function showStatus(status) {
    liveStatus.textContent = { live: "Live", connecting: "Connecting…", offline: "Reconnecting…" }[status] ?? "";
    liveStatus.dataset.status = status;
  }

  const el = h(
    "div",
    { class: "view view-home" },
    h("div", { class: "view-header" }, h("h1", { tabindex: "-1" }, "Home"), liveStatus),
    box.el,
    h("div", { class: "bar-slot" }, bar),
    announcer,
    list.el,
  );

  return {
    el,
    title: "Home",
    mount() {
      ctx.live.addEventListener("new_tweet", onTweet);
      ctx.live.addEventListener("open", fillGap);
      ctx.live.addEventListener("status", onStatus);
      ctx.events.addEventListener("tweet-created", onCreated);
      showStatus(ctx.live.status);
      list.start();
    },
    unmount() {
      ctx.live.removeEventListener("new_tweet", onTweet);
      ctx.live.removeEventListener("open", fillGap);
      ctx.live.removeEventListener("status", onStatus);
      ctx.events.removeEventListener("tweet-created", onCreated);
      list.destroy();
    },
  };
}
