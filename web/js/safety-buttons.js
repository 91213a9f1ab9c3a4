// Block and mute toggles for someone else's profile. A block unfollows both ways and hides the two accounts from
// each other; a mute hides the muted account from your home timeline and notifications only (they are not told).

import { h } from "./dom.js";

export function safetyButtons(ctx, profile, onChange) {
  let blocking = Boolean(profile.blocking);
  let muting = Boolean(profile.muting);
  const mute = h("button", { type: "button", class: "btn btn-outline btn-small" }, "");
  const block = h("button", { type: "button", class: "btn btn-outline btn-small btn-danger" }, "");
  const paint = () => {
    mute.textContent = muting ? "Unmute" : "Mute";
    mute.setAttribute("aria-label", `${muting ? "Unmute" : "Mute"} @${profile.username}`);
    mute.setAttribute("aria-pressed", String(muting));
    block.textContent = blocking ? "Unblock" : "Block";
    block.setAttribute("aria-label", `${blocking ? "Unblock" : "Block"} @${profile.username}`);
    block.setAttribute("aria-pressed", String(blocking));
  };

  async function toggle(button, kind) {
    button.disabled = true;
    try {
      if (kind === "block") {
        if (!blocking && !window.confirm(`Block @${profile.username}? You will unfollow each other.`)) return;
        blocking = (await ctx.api.setBlock(profile.username, !blocking)).blocking;
        onChange?.();
      } else {
        muting = (await ctx.api.setMute(profile.username, !muting)).muting;
      }
    } catch (error) {
      ctx.toast(`Could not change the ${kind}: ${error.message}`, { kind: "error" });
    } finally {
      button.disabled = false;
      paint();
    }
  }

  mute.addEventListener("click", () => toggle(mute, "mute"));
  block.addEventListener("click", () => toggle(block, "block"));
  paint();
  return h("div", { class: "safety-buttons" }, mute, block);
}
