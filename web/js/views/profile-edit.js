// Editing one's own profile in a dialog: display name, bio, place (for local trends), avatar; changing the password;
// deleting the account (after typing the password again).

import { append, avatar, h, icon, toast, uniqueId } from "../dom.js";

// ISO 3166-1 alpha-2: the place codes the server takes (shared/chirp/places.py), named by the browser.
const PLACE_CODES = (
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
  "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO " +
  "FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE " +
  "JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO " +
  "MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW " +
  "PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM " +
  "TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
).split(" ");
const MEDIA_POLL_MS = 400;
const MEDIA_WAIT_MS = 30_000;

function placeOptions() {
  let names = null;
  try {
    names = new Intl.DisplayNames(undefined, { type: "region" });
  } catch {
    names = null;
  }
  return PLACE_CODES.map((code) => [code, names?.of(code) || code]).sort((x, y) => x[1].localeCompare(y[1]));
}

function field(label, control, hint = null) {
  const id = uniqueId("field");
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("p", { class: "muted small" }, hint) : null);
}

/** Upload an image, wait until the media processor has made it ready (GET /media/{id}), return its id. */
async function uploadAvatar(ctx, file) {
  const mediaId = await ctx.api.uploadMedia(file);
  const deadline = Date.now() + MEDIA_WAIT_MS;
  while (Date.now() < deadline) {
    const media = await ctx.api.request("GET", `/media/${encodeURIComponent(mediaId)}`);
    if (media.status === "ready") return mediaId;
    if (media.status === "failed") throw new Error(media.reason || "The image was refused.");
    await new Promise((resolve) => setTimeout(resolve, MEDIA_POLL_MS));
  }
  throw new Error("The image is taking too long to process. Try again.");
}

export function openProfileEditor(ctx, { onSaved }) {
  const titleId = uniqueId("dialog-title");
  const dialog = h("dialog", { class: "dialog profile-editor", "aria-labelledby": titleId });
  const close = () => dialog.close();
  const error = h("p", { class: "form-error", role: "alert" });
  const displayName = h("input", { type: "text", name: "display_name", maxlength: "50", required: true, autocomplete: "name" });
  const bio = h("textarea", { name: "bio", maxlength: "400", rows: "3" });
  const place = h(
    "select",
    { name: "place" },
    h("option", { value: "" }, "Worldwide"),
    ...placeOptions().map(([code, name]) => h("option", { value: code }, name)),
  );
  const preview = h("span", { class: "avatar-preview" });
  const file = h("input", { type: "file", name: "avatar", accept: "image/jpeg,image/png,image/webp,image/gif" });
  let avatarMediaId = null; // null: unchanged; "": remove
  const removeAvatar = h("button", { type: "button", class: "btn btn-outline btn-small", onclick: () => setAvatar("", null) }, "Remove avatar");
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
  let me = null;

  function setAvatar(mediaId, url) {
    avatarMediaId = mediaId;
    preview.replaceChildren(avatar(me?.username ?? "?", "avatar-large", url));
    removeAvatar.hidden = !url;
  }

  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    save.disabled = true;
    error.textContent = "";
    preview.setAttribute("aria-busy", "true");
    try {
      const mediaId = await uploadAvatar(ctx, chosen);
      setAvatar(mediaId, URL.createObjectURL(chosen));
    } catch (failure) {
      error.textContent = `Could not use that image: ${failure.message}`;
    } finally {
      preview.removeAttribute("aria-busy");
      save.disabled = false;
    }
  });

  const form = h(
    "form",
    { class: "profile-form", novalidate: true },
    h("div", { class: "avatar-field" }, preview, field("Avatar", file), removeAvatar),
    field("Display name", displayName),
    field("Bio", bio, "Up to 400 characters."),
    field("Place", place, "Where your local trends come from."),
    error,
    h("div", { class: "form-actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const fields = { display_name: displayName.value, bio: bio.value, place: place.value };
    if (avatarMediaId !== null) fields.avatar_media_id = avatarMediaId;
    save.disabled = true;
    try {
      await ctx.api.updateMe(fields);
      toast("Profile saved.");
      close();
      onSaved?.();
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      save.disabled = false;
    }
  });

  append(dialog, [
    h(
      "div",
      { class: "dialog-header" },
      h("h2", { id: titleId }, "Edit profile"),
      h("button", { type: "button", class: "icon-button", onclick: close }, icon("close"), h("span", { class: "sr-only" }, "Close")),
    ),
    form,
    passwordSection(ctx, close),
    deleteSection(ctx, close),
  ]);
  const opener = document.activeElement;
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();

  ctx.api
    .me()
    .then((profile) => {
      me = profile;
      displayName.value = profile.display_name;
      bio.value = profile.bio;
      place.value = profile.place ?? "";
      setAvatar(null, profile.avatar_url ?? null);
      displayName.focus();
    })
    .catch((failure) => {
      error.textContent = `Could not load your profile: ${failure.message}`;
    });
}

function passwordSection(ctx, close) {
  const current = h("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", name: "new_password", autocomplete: "new-password", minlength: "8", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "profile-form" },
    field("Current password", current),
    field("New password", next, "At least 8 characters. You stay logged in here; other devices are logged out."),
    error,
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn btn-outline" }, "Change password")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const result = await ctx.api.changePassword(current.value, next.value);
      close();
      ctx.signedIn(result); // the old token is revoked: carry on with the new one
      toast("Password changed.");
    } catch (failure) {
      error.textContent = failure.code === "wrong_password" ? "The current password is wrong." : failure.message;
    }
  });
  return h("details", { class: "settings-section" }, h("summary", {}, "Change password"), form);
}

function deleteSection(ctx, close) {
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "profile-form" },
    h("p", {}, "This removes your tweets, likes, follows, bookmarks and notifications for good, and frees your username."),
    field("Password", password),
    error,
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn btn-danger" }, "Delete my account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await ctx.api.deleteAccount(password.value);
      close();
      ctx.signOut("Your account was deleted.");
    } catch (failure) {
      error.textContent = failure.code === "wrong_password" ? "The password is wrong." : failure.message;
    }
  });
  return h("details", { class: "settings-section danger-zone" }, h("summary", {}, "Delete account"), form);
}
