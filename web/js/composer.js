// Writing a tweet, a reply or a quote: live 280-character counter (code points, as the API counts), up to four
// images (presigned uploads, posted once processed), Ctrl/Cmd+Enter to send, and an Idempotency-Key per composition so a retry after a
// lost response never posts twice.

import { append, h, icon, toast, uniqueId } from "./dom.js";
import { quotedBody } from "./tweet-card.js";
import { MAX_TWEET_LENGTH, tweetLength } from "./text.js";

const IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"];
const VIDEO_TYPES = ["video/mp4"];
const MAX_IMAGES = 4;

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

export function composer(ctx, { replyTo = null, quote = null, onPosted, autofocus = false } = {}) {
  const textId = uniqueId("compose");
  const counterId = uniqueId("counter");
  const fileId = uniqueId("attach");
  const placeholder = replyTo ? "Post your reply" : quote ? "Add a comment" : "What's happening?";
  const label = replyTo ? `Reply to @${replyTo.username}` : quote ? "Quote tweet comment" : "Tweet text";

  const textarea = h("textarea", {
    id: textId,
    name: "content",
    rows: replyTo || quote ? "3" : "3",
    placeholder,
    "aria-describedby": counterId,
    autofocus,
  });
  const counter = h("span", { class: "counter", id: counterId, "aria-live": "off" });
  const nearLimit = h("span", { class: "sr-only", "aria-live": "polite" });
  const fileInput = h("input", { type: "file", id: fileId, class: "sr-only", accept: [...IMAGE_TYPES, ...VIDEO_TYPES].join(","), multiple: true });
  const attach = h("label", { class: "attach", for: fileId, title: "Attach up to 4 images or a video" }, icon("image"), h("span", { class: "sr-only" }, "Attach images or a video"));
  const preview = h("div", { class: "attachment", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary", disabled: true }, replyTo ? "Reply" : "Tweet");
  const error = h("p", { class: "form-error", role: "alert" });

  const form = h(
    "form",
    { class: "composer", "aria-label": replyTo ? "Reply" : quote ? "Quote tweet" : "Compose a tweet" },
    h("label", { for: textId, class: "sr-only" }, label),
    textarea,
    quote ? h("div", { class: "tweet-quote" }, quotedBody(quote)) : null,
    preview,
    error,
    h("div", { class: "composer-bar" }, attach, fileInput, h("span", { class: "spacer" }), counter, nearLimit, submit),
  );

  let key = newKey();
  let files = [];
  let previewUrls = [];
  let sending = false;

  function update() {
    const length = tweetLength(textarea.value);
    const left = MAX_TWEET_LENGTH - length;
    counter.textContent = String(left);
    counter.setAttribute("aria-label", `${left} characters left`);
    counter.classList.toggle("warn", left <= 20 && left >= 0);
    counter.classList.toggle("over", left < 0);
    nearLimit.textContent = left < 0 ? `${-left} characters over the limit` : left <= 20 ? `${left} characters left` : "";
    textarea.setAttribute("aria-invalid", String(left < 0));
    submit.disabled = sending || length === 0 || left < 0;
  }

  function setFiles(next) {
    previewUrls.forEach((url) => URL.revokeObjectURL(url));
    files = next;
    previewUrls = files.map((f) => URL.createObjectURL(f));
    preview.replaceChildren();
    preview.hidden = files.length === 0;
    preview.className = `attachment count-${files.length}`;
    files.forEach((f, i) =>
      preview.append(
        h(
          "div",
          { class: "attachment-item" },
          VIDEO_TYPES.includes(f.type)
            ? h("video", { src: previewUrls[i], muted: true, "aria-label": `Selected video ${f.name}` })
            : h("img", { src: previewUrls[i], alt: `Selected image ${f.name}` }),
          h(
            "button",
            { type: "button", class: "remove-attachment", onclick: () => { setFiles(files.filter((_, j) => j !== i)); textarea.focus(); } },
            icon("close"),
            h("span", { class: "sr-only" }, `Remove ${f.name}`),
          ),
        ),
      ),
    );
  }

  fileInput.addEventListener("change", () => {
    const chosen = [...(fileInput.files ?? [])];
    fileInput.value = "";
    if (chosen.some((f) => !IMAGE_TYPES.includes(f.type) && !VIDEO_TYPES.includes(f.type))) {
      error.textContent = "Only JPEG, PNG, GIF and WebP images and MP4 videos can be attached.";
      return;
    }
    const all = [...files, ...chosen];
    const videos = all.filter((f) => VIDEO_TYPES.includes(f.type)).length;
    if (all.length > MAX_IMAGES || (videos > 0 && all.length > 1)) {
      error.textContent = `A tweet takes up to ${MAX_IMAGES} images or one video.`;
      return;
    }
    error.textContent = "";
    setFiles([...files, ...chosen]);
  });

  textarea.addEventListener("input", update);
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    sending = true;
    update();
    error.textContent = "";
    submit.textContent = "Sending…";
    try {
      const mediaIds = await Promise.all(files.map((f) => ctx.api.uploadMedia(f)));
      const tweet = await ctx.api.createTweet(
        { content: textarea.value, mediaIds, replyTo: replyTo?.tweet_id, quoteTweet: quote?.tweet_id },
        key,
      );
      key = newKey();
      textarea.value = "";
      setFiles([]);
      ctx.tweetCreated(tweet);
      onPosted?.(tweet);
      toast(replyTo ? "Your reply was sent." : "Your tweet was sent.");
    } catch (err) {
      if (err.status === 429) {
        const wait = err.retryAfter ? ` Try again in ${err.retryAfter} seconds.` : "";
        error.textContent = `You are tweeting too fast.${wait}`;
      } else if (err.status !== 401) {
        error.textContent = err.message;
      }
    } finally {
      sending = false;
      submit.textContent = replyTo ? "Reply" : "Tweet";
      update();
    }
  });

  update();
  return { el: form, focus: () => textarea.focus() };
}

/** Reply or quote in a modal dialog (native <dialog>: focus stays inside, Escape closes). */
export function openComposerDialog(ctx, { replyTo = null, quote = null }) {
  const titleId = uniqueId("dialog-title");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": titleId });
  const close = () => dialog.close();
  const box = composer(ctx, { replyTo, quote, onPosted: close, autofocus: true });
  append(dialog, [
    h(
      "div",
      { class: "dialog-header" },
      h("h2", { id: titleId }, replyTo ? `Reply to @${replyTo.username}` : "Quote tweet"),
      h("button", { type: "button", class: "icon-button", onclick: close }, icon("close"), h("span", { class: "sr-only" }, "Close")),
    ),
    replyTo ? h("div", { class: "tweet-quote replying-to" }, quotedBody(replyTo)) : null,
    box.el,
  ]);
  const opener = document.activeElement;
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  dialog.addEventListener("click", (event) => event.target === dialog && close()); // click on the backdrop
  document.body.append(dialog);
  dialog.showModal();
  box.focus();
}
