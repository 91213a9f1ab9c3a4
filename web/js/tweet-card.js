// One tweet as an <article>: author, time, text (rendered as text, with links), media, the quoted tweet, and the
// reply / retweet / like / quote actions. Likes and retweets update at once and roll back if the API refuses.

import { avatar, h, icon, replace, toast, uniqueId } from "./dom.js";
import { fullTime, plural, relativeTime, richText } from "./text.js";

const VIDEO = /\.mp4($|\?)/i;

export function tweetCard(ctx, tweet, { focused = false, bookmarked = false } = {}) {
  if (tweet.retweet_of) return retweetCard(ctx, tweet, { focused, bookmarked });
  const headingId = uniqueId("tweet");
  const article = h("article", {
    class: `tweet${focused ? " tweet-focused" : ""}`,
    tabindex: "0",
    "aria-labelledby": headingId,
    dataset: { tweetId: tweet.tweet_id },
  });
  // Bookmarks are private and not part of the tweet object: known on the bookmarks page, otherwise "not yet".
  let state = { ...tweet, bookmarked };

  const permalink = `#/t/${tweet.tweet_id}`;
  const header = h(
    "header",
    { class: "tweet-header" },
    h(
      "a",
      { class: "tweet-author", href: `#/u/${encodeURIComponent(tweet.username)}`, id: headingId },
      tweet.display_name && tweet.display_name !== tweet.username ? h("strong", { class: "tweet-name" }, tweet.display_name, " ") : null,
      `@${tweet.username}`,
    ),
    h("span", { class: "dot", "aria-hidden": "true" }, "·"),
    h(
      "a",
      { class: "tweet-time", href: permalink, "aria-label": `${fullTime(tweet.created_at)}, open thread` },
      h("time", { datetime: tweet.created_at, title: fullTime(tweet.created_at) }, relativeTime(tweet.created_at)),
    ),
  );

  const body = h("div", { class: "tweet-body" }, header);
  if (tweet.reply_to) {
    body.append(h("a", { class: "tweet-context", href: `#/t/${tweet.reply_to}` }, "Replying to a tweet"));
  }
  body.append(h("p", { class: "tweet-content" }, richText(tweet.content)));
  if (tweet.media?.length) body.append(mediaGrid(tweet.media));
  else if (tweet.media_urls?.length) body.append(mediaGrid(tweet.media_urls.map((url) => ({ url, thumbnail_url: url, type: VIDEO.test(url) ? "video" : "image" }))));
  if (tweet.quote_tweet) body.append(quotedTweet(ctx, tweet.quote_tweet));

  const actions = h("div", { class: "tweet-actions", role: "group", "aria-label": "Tweet actions" });
  body.append(actions);
  article.append(avatar(tweet.username, "", tweet.avatar_url), body);

  function renderActions() {
    const mine = state.user_id === ctx.session()?.userId;
    replace(
      actions,
      actionButton("reply", "Reply", state.replies_count, { onclick: () => ctx.openComposer({ replyTo: state }) }),
      actionButton("retweet", state.retweeted_by_user ? "Undo retweet" : "Retweet", state.retweets_count, {
        pressed: state.retweeted_by_user,
        onclick: () => toggle("retweet"),
      }),
      actionButton("like", state.liked_by_user ? "Unlike" : "Like", state.likes_count, {
        pressed: state.liked_by_user,
        onclick: () => toggle("like"),
      }),
      actionButton("quote", "Quote", null, { onclick: () => ctx.openComposer({ quote: state }) }),
      actionButton("bookmark", state.bookmarked ? "Remove bookmark" : "Bookmark", null, {
        pressed: state.bookmarked,
        onclick: bookmark,
      }),
      mine ? actionButton("trash", "Delete", null, { onclick: remove }) : null,
    );
  }

  let busy = false;
  async function toggle(kind) {
    if (busy) return;
    busy = true;
    const flag = kind === "like" ? "liked_by_user" : "retweeted_by_user";
    const count = kind === "like" ? "likes_count" : "retweets_count";
    const before = state;
    const on = !state[flag];
    state = { ...state, [flag]: on, [count]: Math.max(0, state[count] + (on ? 1 : -1)) }; // instant feedback
    renderActions();
    focusAction(kind);
    try {
      const fresh = kind === "like" ? await ctx.api.setLike(tweet.tweet_id, on) : await ctx.api.setRetweet(tweet.tweet_id, on);
      state = { ...state, ...fresh };
    } catch (error) {
      state = before; // the API refused: roll back
      if (error.status !== 401) toast(`Could not ${on ? kind : `undo ${kind}`}: ${error.message}`, { kind: "error" });
    } finally {
      busy = false;
      renderActions();
      focusAction(kind);
    }
  }

  async function bookmark() {
    const on = !state.bookmarked;
    try {
      await ctx.api.setBookmark(tweet.tweet_id, on);
      state = { ...state, bookmarked: on };
      renderActions();
      focusAction("bookmark");
      toast(on ? "Added to your bookmarks" : "Removed from your bookmarks");
    } catch (error) {
      if (error.status !== 401) toast(`Could not ${on ? "bookmark" : "remove the bookmark"}: ${error.message}`, { kind: "error" });
    }
  }

  function focusAction(kind) {
    if (!actions.contains(document.activeElement) && document.activeElement !== document.body) return;
    actions.querySelector(`[data-action="${kind}"]`)?.focus();
  }

  async function remove() {
    if (!window.confirm("Delete this tweet?")) return;
    try {
      await ctx.api.deleteTweet(tweet.tweet_id);
      article.remove();
      toast("Tweet deleted");
    } catch (error) {
      toast(`Could not delete: ${error.message}`, { kind: "error" });
    }
  }

  // Enter on the focused article (not on a link or button inside it) opens the thread.
  article.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === article && !focused) ctx.navigate(`/t/${tweet.tweet_id}`);
  });

  renderActions();
  return article;
}

// A retweet entry: "X retweeted" above the original, whose actions act on the original.
function retweetCard(ctx, entry, options) {
  const card = tweetCard(ctx, entry.retweet_of, options);
  card.classList.add("tweet-retweeted");
  card.dataset.entryId = entry.tweet_id;
  const who = entry.user_id === ctx.session()?.userId ? "You" : `@${entry.username}`;
  card.querySelector(".tweet-body").prepend(
    h(
      "p",
      { class: "tweet-social-context" },
      icon("retweet"),
      h("a", { href: `#/u/${encodeURIComponent(entry.username)}` }, who),
      " retweeted",
    ),
  );
  return card;
}

function actionButton(kind, label, count, { pressed, onclick }) {
  const button = h(
    "button",
    {
      type: "button",
      class: `action action-${kind}`,
      dataset: { action: kind === "trash" ? "delete" : kind },
      "aria-pressed": pressed === undefined ? null : String(pressed),
      title: label,
      onclick,
    },
    icon(kind),
    h("span", { class: "sr-only" }, label),
  );
  if (count !== null) button.append(h("span", { class: "count" }, count > 0 ? String(count) : ""));
  if (count !== null) button.setAttribute("aria-label", `${label}, ${plural(count, kind, kind === "reply" ? "replies" : `${kind}s`)}`);
  return button;
}

/** The processed media (url, thumbnail_url, width, height, dominant_color, alt_text): thumbnails in the grid, each
 * linking to its size-limited rendition; the placeholder colour shows until the thumbnail loads. */
function mediaGrid(items) {
  return h(
    "div",
    { class: `tweet-media count-${Math.min(items.length, 4)}` },
    items.map((item) => {
      const size = item.width && item.height ? { width: String(item.width), height: String(item.height) } : {};
      if (item.type === "video") {
        return h("video", { src: item.url, controls: true, preload: "metadata", "aria-label": item.alt_text || "Attached video", ...size });
      }
      const img = h("img", { src: item.thumbnail_url || item.url, alt: item.alt_text || "Attached image", loading: "lazy", ...size });
      // Through CSSOM, not a style attribute: the CSP allows no inline styles.
      if (/^#[0-9a-f]{6}$/i.test(item.dominant_color ?? "")) img.style.backgroundColor = item.dominant_color;
      return h("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, img);
    }),
  );
}

/** The quoted tweet, loaded on demand (and cached: the same tweet is often quoted more than once). */
function quotedTweet(ctx, id) {
  const box = h("div", { class: "tweet-quote" }, h("span", { class: "muted" }, "Loading quoted tweet…"));
  ctx
    .getTweet(id)
    .then((quoted) => box.replaceChildren(quotedBody(quoted)))
    .catch(() => box.replaceChildren(h("span", { class: "muted" }, "This tweet is unavailable.")));
  return box;
}

export function quotedBody(quoted) {
  return h(
    "a",
    { class: "quote-link", href: `#/t/${quoted.tweet_id}`, "aria-label": `Quoted tweet by @${quoted.username}` },
    h(
      "span",
      { class: "quote-header" },
      avatar(quoted.username, "avatar-small"),
      h("strong", {}, `@${quoted.username}`),
      h("span", { class: "muted" }, ` · ${relativeTime(quoted.created_at)}`),
    ),
    h("span", { class: "quote-content" }, quoted.content),
  );
}
