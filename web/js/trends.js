// The trends list (sidebar on wide screens, Explore page on narrow ones): trending hashtags, refreshed every
// minute, each a link to its search; worldwide or in a place the reader picks (kept for the session).

import { h, uniqueId } from "./dom.js";
import { plural } from "./text.js";

const REFRESH_MS = 60_000;
const PLACE_KEY = "chirp.trendsPlace";

// Two-letter region codes browsers name that ISO 3166-1 does not assign (CLDR's own): the server refuses them.
const NOT_ISO = new Set(["AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"]);

// ISO 3166-1 alpha-2 codes with the browser's names for them: the two-letter codes the browser names as regions.
function placeOptions() {
  let names = null;
  try {
    names = new Intl.DisplayNames(undefined, { type: "region" });
  } catch {
    return [];
  }
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const found = [];
  for (const a of letters) {
    for (const b of letters) {
      const code = a + b;
      const name = names.of(code);
      if (name && name !== code && !NOT_ISO.has(code)) found.push([code, name]);
    }
  }
  return found.sort((x, y) => x[1].localeCompare(y[1]));
}

export function trendsList(ctx, { headingLevel = "h2" } = {}) {
  const headingId = uniqueId("trends");
  const list = h("ol", { class: "trends-list" });
  const status = h("p", { class: "muted small", role: "status" });
  let place = sessionStorage.getItem(PLACE_KEY) || "";
  const picker = h(
    "select",
    { class: "trends-place", "aria-label": "Trends for" },
    h("option", { value: "" }, "Worldwide"),
    ...placeOptions().map(([code, name]) => h("option", { value: code }, name)),
  );
  picker.value = place;
  if (picker.value !== place) place = picker.value = "";
  picker.addEventListener("change", () => {
    place = picker.value;
    sessionStorage.setItem(PLACE_KEY, place);
    list.replaceChildren();
    refresh();
  });
  const el = h(
    "section",
    { class: "trends", "aria-labelledby": headingId },
    h("div", { class: "trends-heading" }, h(headingLevel, { id: headingId }, "Trends"), picker),
    list,
    status,
  );
  let timer = null;

  async function refresh() {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
    try {
      const { trends } = await ctx.api.trends(place);
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
      status.textContent = trends.length ? "" : place ? "Nothing is trending here right now." : "Nothing is trending right now.";
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
