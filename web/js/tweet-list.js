// A paged list (role="feed") with infinite scroll: the next page (by cursor) loads when the "Load more" button at
// the end scrolls into view, and the button also works from the keyboard.

import { h } from "./dom.js";
import { compareIds } from "./api.js";

/**
 * @param load      (cursor) => Promise<{items, nextCursor}>
 * @param render    (item) => Element
 * @param keyOf     (item) => string id
 */
export function pagedList({ load, render, keyOf, label, empty = "Nothing here yet." }) {
  const feed = h("div", { class: "feed", role: "feed", "aria-label": label, "aria-busy": "false" });
  const more = h("button", { type: "button", class: "load-more", hidden: true }, "Load more");
  const status = h("p", { class: "list-status muted", role: "status" });
  const root = h("section", { class: "paged-list", "aria-label": label }, feed, status, more);
  const keys = new Set();
  let cursor = null;
  let loading = false;
  let done = false;
  let started = false;
  let failed = false; // after an error, only a click retries (no retry loop while the button is in view)

  async function loadNext() {
    if (loading || done) return;
    loading = true;
    feed.setAttribute("aria-busy", "true");
    status.textContent = "Loading…";
    more.hidden = true;
    try {
      const page = await load(cursor);
      for (const item of page.items) {
        if (keys.has(keyOf(item))) continue;
        keys.add(keyOf(item));
        feed.append(render(item));
      }
      cursor = page.nextCursor ?? null;
      done = cursor == null;
      status.textContent = keys.size === 0 && done ? empty : "";
      more.textContent = "Load more";
      failed = false;
    } catch (error) {
      status.textContent = `Could not load: ${error.message}`;
      more.textContent = "Try again";
      failed = true;
    } finally {
      loading = false;
      feed.setAttribute("aria-busy", "false");
      // Showing the button again lets the observer fire if the end is still in view (short page, tall screen).
      more.hidden = done;
    }
  }

  more.addEventListener("click", loadNext);
  const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && !failed && loadNext(), {
    rootMargin: "600px 0px",
  });
  observer.observe(more);

  return {
    el: root,
    start() {
      if (!started) {
        started = true;
        loadNext();
      }
    },
    has: (key) => keys.has(key),
    /** Put items (newest first) on top, skipping ones already shown. */
    prepend(items) {
      const fresh = items.filter((item) => !keys.has(keyOf(item)));
      for (const item of [...fresh].reverse()) {
        keys.add(keyOf(item));
        feed.prepend(render(item));
      }
      if (fresh.length) status.textContent = "";
      return fresh.length;
    },
    append(items) {
      for (const item of items.filter((i) => !keys.has(keyOf(i)))) {
        keys.add(keyOf(item));
        feed.append(render(item));
      }
      status.textContent = "";
    },
    newestKey() {
      let newest = null;
      for (const key of keys) if (newest === null || compareIds(key, newest) > 0) newest = key;
      return newest;
    },
    get loaded() {
      return started && !loading;
    },
    destroy() {
      observer.disconnect();
    },
  };
}
