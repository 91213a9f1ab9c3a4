// Search with the API's query operators, Latest / Top, people matching a plain name; without a query: trends.

import { h, uniqueId } from "../dom.js";
import { pagedList } from "../tweet-list.js";
import { tweetCard } from "../tweet-card.js";
import { trendsList } from "../trends.js";
import { whoToFollow } from "../suggestions.js";
import { userRow } from "./profile.js";

const TIPS = [
  ["words", "tweets containing all the words"],
  ['"exact phrase"', "the words in this order"],
  ["#hashtag", "tweets with the hashtag"],
  ["@name", "tweets mentioning @name"],
  ["from:name", "tweets by @name"],
  ["since:2025-01-31", "on or after a day"],
  ["until:2025-12-31", "before a day"],
  ["-word", "without the word"],
];

export function searchView(ctx, query) {
  const q = (query.q || "").trim();
  const type = query.type === "top" ? "top" : "recent";
  const inputId = uniqueId("q");
  const input = h("input", { id: inputId, type: "search", name: "q", value: q, placeholder: "Search Chirp", autocomplete: "off", enterkeyhint: "search" });
  const form = h(
    "form",
    { role: "search", class: "search-form", "aria-label": "Search tweets" },
    h("label", { for: inputId, class: "sr-only" }, "Search query"),
    input,
    h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) ctx.navigate(`/search?q=${encodeURIComponent(value)}&type=${type}`);
  });

  const tips = h(
    "details",
    { class: "search-tips" },
    h("summary", {}, "Search operators"),
    h("dl", {}, TIPS.map(([op, what]) => [h("dt", {}, h("code", {}, op)), h("dd", {}, what)])),
  );

  const parts = [h("div", { class: "view-header" }, h("h1", { tabindex: "-1" }, q ? `Search: ${q}` : "Explore")), form, tips];
  let list = null;
  let trends = null;
  let suggestions = null;

  if (q) {
    const tabs = h(
      "nav",
      { class: "tabs", "aria-label": "Result order" },
      ["recent", "top"].map((t) =>
        h(
          "a",
          { href: `#/search?q=${encodeURIComponent(q)}&type=${t}`, "aria-current": t === type ? "page" : null, class: "tab" },
          t === "recent" ? "Latest" : "Top",
        ),
      ),
    );
    const people = h("section", { class: "people", "aria-label": "People", hidden: true });
    list = pagedList({
      label: `Tweets matching ${q}`,
      empty: "No tweets match this search.",
      keyOf: (t) => t.tweet_id,
      render: (t) => tweetCard(ctx, t),
      load: async (cursor) => {
        const page = await ctx.api.search(q, type, cursor);
        return { items: page.tweets, nextCursor: page.next_cursor };
      },
    });
    if (/^@?\w{1,15}$/.test(q)) {
      ctx.api
        .searchUsers(q)
        .then(({ users }) => {
          if (!users.length) return;
          people.append(h("h2", { class: "section-title" }, "People"), ...users.map(userRow));
          people.hidden = false;
        })
        .catch(() => {});
    }
    parts.push(tabs, people, list.el);
  } else {
    trends = trendsList(ctx, { headingLevel: "h2" });
    suggestions = whoToFollow(ctx, { headingLevel: "h2" });
    parts.push(trends.el, suggestions.el);
  }

  return {
    el: h("div", { class: "view view-search" }, parts),
    title: q ? `Search: ${q}` : "Explore",
    mount() {
      list?.start();
      trends?.refresh();
      suggestions?.refresh();
    },
    unmount() {
      list?.destroy();
      trends?.destroy();
    },
  };
}
