// "Who to follow" (sidebar): accounts followed by the people you follow, ranked by how many of them do, each with a
// follow button. Refreshed when the sidebar is drawn; a followed account stays listed (as "Following") until then.

import { avatar, h, uniqueId } from "./dom.js";
import { plural } from "./text.js";

export function whoToFollow(ctx, { headingLevel = "h2" } = {}) {
  const headingId = uniqueId("who-to-follow");
  const list = h("ul", { class: "suggestions-list" });
  const status = h("p", { class: "muted small", role: "status" });
  const el = h(
    "section",
    { class: "suggestions", "aria-labelledby": headingId },
    h(headingLevel, { id: headingId }, "Who to follow"),
    list,
    status,
  );

  function row(user) {
    let following = false;
    const button = h("button", { type: "button", class: "btn btn-primary btn-small" }, "Follow");
    const paint = () => {
      button.textContent = following ? "Following" : "Follow";
      button.className = following ? "btn btn-outline btn-small" : "btn btn-primary btn-small";
      button.setAttribute("aria-label", `${following ? "Unfollow" : "Follow"} @${user.username}`);
    };
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        following = (await ctx.api.setFollow(user.username, !following)).following;
      } catch (error) {
        ctx.toast(`Could not follow: ${error.message}`, { kind: "error" });
      } finally {
        button.disabled = false;
        paint();
      }
    });
    paint();
    return h(
      "li",
      { class: "suggestion" },
      avatar(user.username),
      h(
        "a",
        { href: `#/u/${encodeURIComponent(user.username)}`, class: "user-row-link" },
        h("strong", {}, user.display_name || user.username),
        h("span", { class: "muted small" }, ` @${user.username}`),
        h("span", { class: "muted small suggestion-why" }, `Followed by ${plural(user.followed_by_followees, "person", "people")} you follow`),
      ),
      button,
    );
  }

  async function refresh() {
    try {
      const { users } = await ctx.api.suggestions();
      list.replaceChildren(...users.map(row));
      status.textContent = users.length ? "" : "Follow a few people to see who they follow.";
    } catch (error) {
      status.textContent = `Suggestions are unavailable: ${error.message}`;
    }
  }

  return { el, refresh };
}
