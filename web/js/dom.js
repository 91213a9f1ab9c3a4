// Building DOM nodes. User content only ever goes in as text nodes (`append(string)` / textContent), never as
// HTML: there is no innerHTML anywhere in the client.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let uid = 0;
export function uniqueId(prefix = "id") {
  uid += 1;
  return `${prefix}-${uid}`;
}

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  home: "M3 10.5 12 3l9 7.5V21a1 1 0 0 1-1 1h-5v-7H9v7H4a1 1 0 0 1-1-1z",
  search: "M10.5 3a7.5 7.5 0 0 1 5.96 12.05l4.74 4.74-1.41 1.42-4.75-4.75A7.5 7.5 0 1 1 10.5 3zm0 2a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11z",
  bell: "M12 2a6 6 0 0 1 6 6v4.6l2 3.4H4l2-3.4V8a6 6 0 0 1 6-6zm-2.5 16h5a2.5 2.5 0 0 1-5 0z",
  user: "M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm0 2c-4.4 0-8 2.2-8 5v3h16v-3c0-2.8-3.6-5-8-5z",
  logout: "M10 3h9a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1h-9v-2h8V5h-8zM8.6 7.4 10 8.8 7.8 11H15v2H7.8l2.2 2.2-1.4 1.4L4 12z",
  reply: "M12 4c5 0 9 3.1 9 7s-4 7-9 7c-.9 0-1.8-.1-2.6-.3L4 20l1.4-4.2C4 14.5 3 12.9 3 11c0-3.9 4-7 9-7zm0 2c-3.9 0-7 2.3-7 5 0 1.4.8 2.6 2 3.5l.6.4-.6 1.8 2.4-1 .4.1c.7.2 1.4.2 2.2.2 3.9 0 7-2.3 7-5s-3.1-5-7-5z",
  retweet: "M7 7h9v3l4-4-4-4v3H5v6h2zm10 10H8v-3l-4 4 4 4v-3h11v-6h-2z",
  like: "M12 21s-7.5-4.6-9.6-9.3C.9 8.2 3 4.5 6.6 4.5c2 0 3.5 1.1 4.4 2.5h2c.9-1.4 2.4-2.5 4.4-2.5 3.6 0 5.7 3.7 4.2 7.2C19.5 16.4 12 21 12 21z",
  quote: "M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-7l-4 4v-4H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm3 4v2h10V9zm0 4v1h7v-1z",
  image: "M4 4h16a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v9.6l4-4 3 3 4-5 3 3.6V6zm4 3.5a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z",
  trash: "M9 3h6l1 2h4v2H4V5h4zm-3 6h12l-1 12H7z",
  bookmark: "M6 3h12a1 1 0 0 1 1 1v17l-7-4.5L5 21V4a1 1 0 0 1 1-1z",
  close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z",
  bird: "M21 6.5c-.7.3-1.4.5-2.1.6.8-.5 1.3-1.2 1.6-2-.7.4-1.5.7-2.3.9A3.7 3.7 0 0 0 11.9 9 10.4 10.4 0 0 1 4.3 5.1a3.7 3.7 0 0 0 1.1 4.9c-.6 0-1.2-.2-1.7-.5 0 1.8 1.3 3.3 3 3.6-.5.2-1.1.2-1.7.1.5 1.5 1.9 2.5 3.5 2.6A7.4 7.4 0 0 1 3 17.3 10.4 10.4 0 0 0 8.6 19c6.8 0 10.5-5.6 10.5-10.5v-.5c.7-.5 1.4-1.1 1.9-1.5z",
};

export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

/** A short message in the polite live region (also shown on screen for a few seconds). */
export function toast(message, { kind = "info" } = {}) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const item = h("div", { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), 5000);
}

/** An avatar: the user's picture when they chose one (`url`), else an initial on a colour derived from the name. */
export function avatar(username, size = "", url = null) {
  if (url) return h("img", { class: `avatar avatar-image ${size}`.trim(), src: url, alt: "", loading: "lazy", decoding: "async" });
  let hash = 0;
  for (const ch of username) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  const el = h("span", { class: `avatar ${size}`.trim(), "aria-hidden": "true" }, [...username][0]?.toUpperCase() ?? "?");
  el.style.setProperty("--hue", String(hash % 360));
  return el;
}

/** Replace an element's children (skipping null / false, unlike Element.replaceChildren). */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
