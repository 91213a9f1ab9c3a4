// Log in and sign up.

import { h, icon, uniqueId } from "../dom.js";

function field(label, attrs, hint) {
  const id = uniqueId("field");
  const hintId = hint ? `${id}-hint` : null;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, "aria-describedby": hintId, ...attrs }),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
}

export function authView(ctx, { mode, notice }) {
  const signup = mode === "signup";
  const error = h("p", { class: "form-error", role: "alert" }, notice || "");
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-wide" }, signup ? "Create account" : "Log in");
  const fields = signup
    ? [
        field("Username", { name: "username", required: true, autocomplete: "username", pattern: "[A-Za-z0-9_]{1,15}", maxlength: "15" }, "Letters, digits and _, up to 15."),
        field("Display name", { name: "display_name", autocomplete: "name", maxlength: "50" }),
        field("Email", { name: "email", type: "email", required: true, autocomplete: "email" }),
        field("Password", { name: "password", type: "password", required: true, minlength: "8", maxlength: "128", autocomplete: "new-password" }, "At least 8 characters."),
      ]
    : [
        field("Username", { name: "username", required: true, autocomplete: "username" }),
        field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
      ];

  const form = h("form", { class: "auth-form", novalidate: false }, fields, error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    error.textContent = "";
    submit.disabled = true;
    try {
      const result = signup
        ? await ctx.api.signup({
            username: data.username.trim(),
            email: data.email.trim(),
            password: data.password,
            ...(data.display_name.trim() ? { display_name: data.display_name.trim() } : {}),
          })
        : await ctx.api.login(data.username.trim(), data.password);
      ctx.signedIn(result);
    } catch (err) {
      error.textContent =
        err.code === "invalid_credentials" ? "Wrong username or password." : err.message || "Something went wrong.";
      submit.disabled = false;
    }
  });

  const el = h(
    "div",
    { class: "auth" },
    h("div", { class: "auth-brand" }, icon("bird"), h("span", {}, "Chirp")),
    h("h1", { tabindex: "-1" }, signup ? "Create your account" : "Log in to Chirp"),
    form,
    signup
      ? h("p", {}, "Already have an account? ", h("a", { href: "#/login" }, "Log in"))
      : h("p", {}, "New to Chirp? ", h("a", { href: "#/signup" }, "Create an account")),
  );
  return { el, title: signup ? "Sign up" : "Log in" };
}
