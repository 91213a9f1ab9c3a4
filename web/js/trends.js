// The trends list (sidebar on wide screens, Explore page on narrow ones): trending hashtags, refreshed every
// minute, each a link to its search.

import { h, uniqueId } from "./dom.js";
import { plural } from "./text.js";

const REFRESH_MS = 60_000;

export function trendsList(ctx, { headingLevel = "h2" } = {}) {
  const headingId = uniqueId("trends");
  const list = h("ol", { class: "trends-list" });
  const status = h("p", { class: "muted small", role: "status" });
  const el = h("section", { class: "trends", "aria-labelledby": headingId }, h(headingLevel, { id: headingId }, "Trends"), list, status);
  let timer = null;

  async function refresh() {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
    try {
      const { trends } = await ctx.api.trends();
      list.replaceChildren(
        ...trends.map((trend, i) =>
          h(
            "li",
            {},
            h(
              "a",
              { href: `#/search?q=${encodeURIComponent(`#${trend.hashtag}`)}`, class: "trend" },
              h("span", { class: "muted small" }, `${i + 1} · Trending`),
              h("strong", {}, `#${trend.hashtag}`),
              h("span", { class: "muted small" }, plural(trend.tweet_count, "tweet")),
            ),
          ),
        ),
      );
      status.textContent = trends.length ? "" : "Nothing is trending right now.";
    } catch (error) {
      if (!list.childElementCount) status.textContent = `Trends are unavailable: ${error.message}`;
    }
  }

  return {
    el,
    refresh,
    destroy: () => clearTimeout(timer),
  };
}
