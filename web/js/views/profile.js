// A profile: name, bio, counts, follow / unfollow, and the user's tweets; plus the followers / following lists.

import { avatar, h, replace } from "../dom.js";
import { pagedList } from "../tweet-list.js";
import { tweetCard } from "../tweet-card.js";
import { plural } from "../text.js";
import { safetyButtons } from "../safety-buttons.js";
import { openProfileEditor } from "./profile-edit.js";

export function profileView(ctx, username, { tab = "tweets" } = {}) {
  const header = h("div", { class: "profile-header" }, h("p", { class: "muted" }, "Loading profile…"));
  const heading = h("h1", { tabindex: "-1", class: "sr-only" }, `@${username}`);
  const likes = tab === "likes";
  const list = pagedList({
    label: likes ? `Tweets @${username} liked` : `Tweets by @${username}`,
    empty: likes ? `@${username} has not liked any tweets yet.` : `@${username} has not tweeted yet.`,
    keyOf: (t) => t.tweet_id,
    render: (t) => tweetCard(ctx, t),
    load: async (cursor) => {
      const page = likes ? await ctx.api.userLikes(username, cursor) : await ctx.api.userTweets(username, cursor);
      return { items: page.tweets, nextCursor: page.has_more ? page.next_cursor : null };
    },
  });
  const onCreated = (event) => {
    if (!likes && event.detail.username.toLowerCase() === username.toLowerCase()) list.prepend([event.detail]);
  };

  async function loadProfile() {
    try {
      renderProfile(await ctx.api.profile(username));
    } catch (error) {
      heading.classList.remove("sr-only");
      heading.textContent =
        error.status === 404 ? "This account doesn't exist" : error.code === "blocked" ? "You're blocked" : "Could not load this profile";
      header.replaceChildren(heading, h("p", { class: "muted" }, error.message));
      list.el.hidden = true;
    }
  }

  function renderProfile(profile) {
    const me = ctx.session()?.userId === profile.user_id;
    const followers = h("strong", {}, String(profile.follower_count));
    const followButton = me || profile.blocking
      ? null
      : h("button", { type: "button", class: "btn", onclick: toggleFollow }, "");
    let following = profile.followed_by_me;
    const paintFollow = () => {
      if (!followButton) return;
      followButton.textContent = following ? "Unfollow" : "Follow";
      followButton.className = following ? "btn btn-outline" : "btn btn-primary";
      followButton.setAttribute("aria-label", `${following ? "Unfollow" : "Follow"} @${profile.username}`);
    };
    async function toggleFollow() {
      followButton.disabled = true;
      try {
        const result = await ctx.api.setFollow(profile.username, !following);
        const changed = result.following !== following;
        following = result.following;
        // A 202 (async write path) carries the new state but no count: adjust the shown one optimistically.
        const count = result.follower_count ?? Math.max(0, Number(followers.textContent) + (changed ? (following ? 1 : -1) : 0));
        followers.textContent = String(count);
      } catch (error) {
        ctx.toast(`Could not ${following ? "unfollow" : "follow"}: ${error.message}`, { kind: "error" });
      } finally {
        followButton.disabled = false;
        paintFollow();
      }
    }
    paintFollow();
    heading.textContent = profile.display_name || profile.username;
    heading.classList.remove("sr-only");
    const joined = new Date(profile.created_at).toLocaleDateString(undefined, { month: "long", year: "numeric" });
    const base = `#/u/${encodeURIComponent(profile.username)}`;
    replace(
      header,
      h(
        "div",
        { class: "profile-top" },
        avatar(profile.username, "avatar-large", profile.avatar_url),
        me ? null : safetyButtons(ctx, profile, loadProfile),
        me ? h("button", { type: "button", class: "btn btn-outline", onclick: () => openProfileEditor(ctx, { onSaved: () => ctx.navigate(location.hash.slice(1)) }) }, "Edit profile") : null,
        followButton,
      ),
      heading,
      h("p", { class: "handle" }, `@${profile.username}`, profile.follows_me ? h("span", { class: "badge-soft" }, "Follows you") : null),
      profile.bio ? h("p", { class: "bio" }, profile.bio) : null,
      h("p", { class: "muted" }, `Joined ${joined}`),
      h(
        "p",
        { class: "profile-counts" },
        h("a", { href: `${base}/following` }, h("strong", {}, String(profile.following_count)), " Following"),
        h("a", { href: `${base}/followers` }, followers, " Followers"),
        h("span", {}, h("strong", {}, String(profile.tweet_count)), " Tweets"),
      ),
    );
  }

  const base = `#/u/${encodeURIComponent(username)}`;
  const tabLink = (href, label, current) => h("a", { href, class: "profile-tab", "aria-current": current ? "page" : null }, label);
  const tabs = h(
    "nav",
    { class: "profile-tabs", "aria-label": "Profile sections" },
    tabLink(base, "Tweets", !likes),
    tabLink(`${base}/likes`, "Likes", likes),
  );
  const el = h("div", { class: "view view-profile" }, header, tabs, h("h2", { class: "section-title sr-only" }, likes ? "Likes" : "Tweets"), list.el);
  header.prepend(heading);
  return {
    el,
    title: `@${username}`,
    mount() {
      ctx.events.addEventListener("tweet-created", onCreated);
      loadProfile();
      list.start();
    },
    unmount() {
      ctx.events.removeEventListener("tweet-created", onCreated);
      list.destroy();
    },
  };
}

export function userListView(ctx, username, which) {
  const title = which === "followers" ? `People following @${username}` : `People @${username} follows`;
  const list = pagedList({
    label: title,
    empty: which === "followers" ? "No followers yet." : "Not following anyone yet.",
    keyOf: (u) => u.user_id,
    render: (u) => userRow(u),
    load: async (cursor) => {
      const page = await ctx.api.userList(username, which, cursor);
      return { items: page.users, nextCursor: page.has_more ? page.next_cursor : null };
    },
  });
  const el = h(
    "div",
    { class: "view" },
    h("div", { class: "view-header" }, h("h1", { tabindex: "-1" }, title)),
    list.el,
  );
  return { el, title, mount: () => list.start(), unmount: () => list.destroy() };
}

export function userRow(user) {
  return h(
    "article",
    { class: "user-row" },
    avatar(user.username),
    h(
      "a",
      { href: `#/u/${encodeURIComponent(user.username)}`, class: "user-row-link" },
      h("strong", {}, user.display_name || user.username),
      h("span", { class: "muted" }, ` @${user.username}`),
    ),
    user.follower_count != null ? h("span", { class: "muted small" }, plural(user.follower_count, "follower")) : null,
  );
}
