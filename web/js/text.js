// Tweet text: length in Unicode code points (as the API counts it), and rendering content as DOM text nodes with
// hashtags, mentions and links turned into links. The patterns mirror the API's (shared/chirp/text.py).

export const MAX_TWEET_LENGTH = 280;

// Control characters other than newline and tab, which the API drops.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The length the API will count: NFC-normalized, control characters dropped, trimmed, in code points. */
export function tweetLength(text) {
  return [...text.normalize("NFC").replace(CONTROL, "").trim()].length;
}

const WORD = "\\p{L}\\p{M}\\p{N}_";
const TOKENS = new RegExp(
  [
    "(https?:\\/\\/[^\\s<>\"]+)", // 1: link
    `(?<![${WORD}&#])[#\\uff03]([${WORD}]{1,100})`, // 2: hashtag
    `(?<![${WORD}@])[@\\uff20]([A-Za-z0-9_]{1,15})(?![${WORD}@])`, // 3: mention
  ].join("|"),
  "giu",
);
const URL_TRAILING = ".,;:!?)]}'\"";

function link(href, text, className, external = false) {
  const a = document.createElement("a");
  a.href = href;
  a.className = className;
  a.textContent = text;
  if (external) {
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow ugc";
  }
  return a;
}

/** A fragment of text nodes and links; never parses the content as HTML. */
export function richText(content) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  const text = (s) => s && fragment.append(document.createTextNode(s));
  for (const match of content.matchAll(TOKENS)) {
    const [whole, url, tag, user] = match;
    let end = match.index + whole.length;
    let node = null;
    if (url) {
      let clean = url;
      while (clean && URL_TRAILING.includes(clean.at(-1))) clean = clean.slice(0, -1);
      end = match.index + clean.length;
      if (clean.length > "https://".length) node = link(clean, displayUrl(clean), "link-url", true);
    } else if (tag && !/^\p{N}+$/u.test(tag) && !/^_+$/.test(tag)) {
      node = link(`#/search?q=${encodeURIComponent(`#${tag}`)}`, whole, "link-hashtag");
    } else if (user) {
      node = link(`#/u/${encodeURIComponent(user)}`, whole, "link-mention");
    }
    if (!node) continue;
    text(content.slice(last, match.index));
    fragment.append(node);
    last = end;
  }
  text(content.slice(last));
  return fragment;
}

function displayUrl(url) {
  const shown = url.replace(/^https?:\/\/(www\.)?/i, "");
  return shown.length > 40 ? `${shown.slice(0, 39)}…` : shown;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "now", "5m", "3h", "Mar 4", "Mar 4, 2023". */
export function relativeTime(iso, now = Date.now()) {
  const then = new Date(iso);
  const age = now - then.getTime();
  if (age < MINUTE) return "now";
  if (age < HOUR) return `${Math.floor(age / MINUTE)}m`;
  if (age < DAY) return `${Math.floor(age / HOUR)}h`;
  const sameYear = then.getFullYear() === new Date(now).getFullYear();
  return then.toLocaleDateString(undefined, { month: "short", day: "numeric", year: sameYear ? undefined : "numeric" });
}

export function fullTime(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
