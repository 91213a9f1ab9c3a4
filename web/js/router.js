// Hash-based routing (#/u/alice, #/t/123, #/search?q=...): works from any static host (S3 + CloudFront) without
// rewrite rules, and the back button just works.

const ROUTES = [
  ["home", /^\/?$/],
  ["home", /^\/home$/],
  ["login", /^\/login$/],
  ["signup", /^\/signup$/],
  ["profile", /^\/u\/([^/]+)$/],
  ["userList", /^\/u\/([^/]+)\/(followers|following)$/],
  ["likes", /^\/u\/([^/]+)\/likes$/],
  ["thread", /^\/t\/(\d{1,19})$/],
  ["search", /^\/search$/],
  ["notifications", /^\/notifications$/],
  ["bookmarks", /^\/bookmarks$/],
];

export function currentRoute() {
  const raw = location.hash.replace(/^#/, "");
  const [path, search = ""] = raw.split("?", 2);
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const [name, pattern] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { name, params: match.slice(1).map(decodeURIComponent), query, path };
  }
  return { name: "notFound", params: [], query, path };
}

export function navigate(path) {
  const target = `#${path}`;
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}

export function onRouteChange(handler) {
  window.addEventListener("hashchange", () => handler(currentRoute()));
}
