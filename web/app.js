// Chirp web client: loads the generated /config.json (API and WebSocket URLs), keeps the session, draws the app
// shell (navigation, unread badge, trends sidebar), and renders the view for the current route.

import { Api } from "./js/api.js";
import { h, icon, toast } from "./js/dom.js";
import { LiveConnection } from "./js/realtime.js";
import { clearSession, loadSession, saveSession } from "./js/session.js";
import { currentRoute, navigate, onRouteChange } from "./js/router.js";
import { openComposerDialog } from "./js/composer.js";
import { trendsList } from "./js/trends.js";
import { whoToFollow } from "./js/suggestions.js";
import { authView } from "./js/views/auth.js";
import { homeView } from "./js/views/home.js";
import { profileView, userListView } from "./js/views/profile.js";
import { threadView } from "./js/views/thread.js";
import { searchView } from "./js/views/search.js";
import { notificationsView } from "./js/views/notifications.js";
import { bookmarksView } from "./js/views/bookmarks.js";

const PUBLIC_ROUTES = new Set(["login", "signup"]);

/** The generated config.json ({api_url, auth_url, ws_url, media_url}), served by the local runtime and deployed by the
 * CDK app. */
async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: ${response.status}`);
  const raw = await response.json();
  const config = { api_url: raw.api_url, auth_url: raw.auth_url || raw.api_url, ws_url: raw.ws_url };
  if (!config.api_url || !config.ws_url) throw new Error("config.json lacks the API or WebSocket URL");
  return config;
}

function start(config) {
  let session = loadSession();
  let live = new LiveConnection(config.ws_url, "-");
  let view = null;
  let notice = "";
  let expiryTimer = null;
  const tweetCache = new Map();
  const main = document.getElementById("main");
  const badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" }); // announced by badgeText
  const badgeText = h("span", { class: "sr-only" });
  let trends = null;

  const ctx = {
    api: null,
    get live() {
      return live;
    },
    events: new EventTarget(),
    session: () => session,
    navigate,
    toast,
    openComposer: (options) => openComposerDialog(ctx, options),
    tweetCreated(tweet) {
      tweetCache.set(tweet.tweet_id, tweet);
      ctx.events.dispatchEvent(new CustomEvent("tweet-created", { detail: tweet }));
      setTimeout(() => trends?.refresh(), 6000); // the trend window refreshes a few seconds later
    },
    async getTweet(id, { fresh = false } = {}) {
      if (!fresh && tweetCache.has(id)) return tweetCache.get(id);
      const tweet = await ctx.api.tweet(id);
      tweetCache.set(id, tweet);
      return tweet;
    },
    signOut: (message = "") => endSession(message),
    signedIn(result) {
      session = saveSession(result);
      notice = "";
      startSession();
      navigate("/home");
    },
    setUnread(count) {
      badge.hidden = !count;
      badge.textContent = count > 99 ? "99+" : String(count);
      badgeText.textContent = count ? ` (${count} unread)` : "";
    },
  };

  ctx.api = new Api(config.api_url, {
    authUrl: config.auth_url,
    getToken: () => session?.token,
    onUnauthorized: () => endSession("Your session has expired. Please log in again."),
  });

  function startSession() {
    live.stop();
    live = new LiveConnection(config.ws_url, session.token);
    live.addEventListener("notification", (event) => ctx.setUnread(event.detail.unread_count));
    live.start();
    clearTimeout(expiryTimer);
    const left = session.expiresAt - Date.now();
    if (left > 0 && left < 2 ** 31) {
      expiryTimer = setTimeout(() => endSession("Your session has expired. Please log in again."), left);
    }
    ctx.api
      .notifications(null)
      .then((page) => ctx.setUnread(page.unread_count))
      .catch(() => {});
    renderShell();
  }

  function endSession(message = "") {
    if (!session) return;
    session = null;
    notice = message;
    clearSession();
    clearTimeout(expiryTimer);
    live.stop();
    tweetCache.clear();
    ctx.setUnread(0);
    navigate("/login");
  }

  function navLink(path, iconName, label, extra = null) {
    return h(
      "a",
      { href: `#${path}`, class: "nav-link", dataset: { path } },
      icon(iconName),
      h("span", { class: "nav-label" }, label),
      extra,
    );
  }

  function renderShell() {
    const nav = document.getElementById("nav");
    const aside = document.getElementById("aside");
    trends?.destroy();
    trends = null;
    if (!session) {
      document.body.classList.add("signed-out");
      nav.replaceChildren();
      aside.replaceChildren();
      return;
    }
    document.body.classList.remove("signed-out");
    const me = `/u/${encodeURIComponent(session.username)}`;
    nav.replaceChildren(
      h("a", { href: "#/home", class: "brand", "aria-label": "Chirp home" }, icon("bird"), h("span", { class: "nav-label" }, "Chirp")),
      h(
        "nav",
        { "aria-label": "Main" },
        navLink("/home", "home", "Home"),
        navLink("/search", "search", "Explore"),
        navLink("/notifications", "bell", "Notifications", [badge, badgeText]),
        navLink("/bookmarks", "bookmark", "Bookmarks"),
        navLink(me, "user", "Profile"),
      ),
      h(
        "button",
        { type: "button", class: "nav-link logout", onclick: () => endSession() },
        icon("logout"),
        h("span", { class: "nav-label" }, "Log out"),
        h("span", { class: "sr-only" }, ` @${session.username}`),
      ),
    );
    const quickSearch = h("input", { type: "search", name: "q", placeholder: "Search Chirp", "aria-label": "Search Chirp" });
    const searchForm = h("form", { role: "search", class: "aside-search" }, quickSearch);
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (quickSearch.value.trim()) navigate(`/search?q=${encodeURIComponent(quickSearch.value.trim())}`);
    });
    trends = trendsList(ctx, { headingLevel: "h2" });
    const suggestions = whoToFollow(ctx, { headingLevel: "h2" });
    aside.replaceChildren(searchForm, trends.el, suggestions.el);
    trends.refresh();
    suggestions.refresh();
  }

  function markCurrentNav(route) {
    for (const link of document.querySelectorAll("#nav .nav-link[data-path]")) {
      const active = `#${link.dataset.path}` === `#${route.path}` || (route.name === "home" && link.dataset.path === "/home");
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  function viewFor(route) {
    switch (route.name) {
      case "login":
      case "signup":
        return authView(ctx, { mode: route.name, notice });
      case "home":
        return homeView(ctx);
      case "profile":
        return profileView(ctx, route.params[0]);
      case "likes":
        return profileView(ctx, route.params[0], { tab: "likes" });
      case "userList":
        return userListView(ctx, route.params[0], route.params[1]);
      case "thread":
        return threadView(ctx, route.params[0]);
      case "search":
        return searchView(ctx, route.query);
      case "notifications":
        return notificationsView(ctx);
      case "bookmarks":
        return bookmarksView(ctx);
      default:
        return {
          el: h("div", { class: "view" }, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "#/home" }, "Go home"))),
          title: "Not found",
        };
    }
  }

  function render(route) {
    if (!session && !PUBLIC_ROUTES.has(route.name)) return navigate("/login");
    if (session && PUBLIC_ROUTES.has(route.name)) return navigate("/home");
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    view?.unmount?.();
    view = viewFor(route);
    main.replaceChildren(view.el);
    view.mount?.();
    document.title = `${view.title} · Chirp`;
    markCurrentNav(route);
    window.scrollTo({ top: 0 });
    // Move focus to the new page's heading so screen readers announce it (not on first load).
    if (rendered) main.querySelector("h1")?.focus({ preventScroll: true });
    rendered = true;
  }
  let rendered = false;

  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    (main.querySelector("h1") ?? main).focus();
  });

  onRouteChange(render);
  if (session) startSession();
  else renderShell();
  render(currentRoute());
}

loadConfig()
  .then(start)
  .catch((error) => {
    document.getElementById("main").replaceChildren(
      h("div", { class: "view" }, h("h1", {}, "Chirp is unavailable"), h("p", {}, `Could not load the client configuration (${error.message}).`)),
    );
  });
