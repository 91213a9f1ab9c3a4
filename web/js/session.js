// The signed-in user's token.
//
// Kept in sessionStorage, not localStorage or a cookie: it belongs to this one tab and is gone when the tab closes
// (a shorter exposure window on a shared computer), it survives a reload, other tabs and sites never see it, and
// unlike a cookie the browser never attaches it to requests on its own, so there is no CSRF surface. Like anything
// readable by scripts it relies on the page never running injected script: all user content is rendered as text
// and the page's Content-Security-Policy allows only the project's own scripts.

const KEY = "chirp.session";

export function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (!session || typeof session.token !== "string") return null;
    if (typeof session.expiresAt === "number" && session.expiresAt <= Date.now()) {
      clearSession();
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function saveSession({ token, expires_in, user_id, username }) {
  const session = { token, userId: String(user_id), username, expiresAt: Date.now() + Number(expires_in || 0) * 1000 };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
