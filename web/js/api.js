// The REST API client: JSON in and out, bearer token, errors as ApiError with the server's {error: {code, message}}.
// A 401 on an authenticated call means the token expired or was revoked: `onUnauthorized` sends the person back to
// the login page.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class Api {
  constructor(baseUrl, { getToken, onUnauthorized, authUrl = baseUrl }) {
    this.base = new URL(baseUrl.replace(/\/+$/, ""), location.href).href;
    // Sign-up and sign-in may live at another origin (the API edge, when the web ACL sits only there).
    this.authBase = new URL(authUrl.replace(/\/+$/, ""), location.href).href;
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { query, body, headers = {}, auth = true, base = this.base } = {}) {
    const url = new URL(base + path);
    for (const [key, value] of Object.entries(query || {})) {
      if (value != null && value !== "") url.searchParams.set(key, String(value));
    }
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const token = auth ? this.getToken() : null;
    if (token) init.headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      throw new ApiError(0, "network_error", "Could not reach Chirp. Check your connection and try again.");
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new ApiError(
        response.status,
        data?.error?.code ?? `http_${response.status}`,
        data?.error?.message ?? `The server answered ${response.status}.`,
        response.headers.get("Retry-After"),
      );
      if (response.status === 401 && auth) this.onUnauthorized?.(error);
      throw error;
    }
    return data;
  }

  // -- auth --
  signup(fields) {
    return this.request("POST", "/auth/signup", { body: fields, auth: false, base: this.authBase });
  }
  login(username, password) {
    return this.request("POST", "/auth/login", { body: { username, password }, auth: false, base: this.authBase });
  }

  // -- tweets --
  createTweet({ content, mediaIds = [], replyTo = null, quoteTweet = null }, idempotencyKey) {
    const body = { content };
    if (mediaIds.length) body.media_ids = mediaIds;
    if (replyTo) body.reply_to = replyTo;
    if (quoteTweet) body.quote_tweet = quoteTweet;
    return this.request("POST", "/tweets", { body, headers: { "Idempotency-Key": idempotencyKey } });
  }
  tweet(id) {
    return this.request("GET", `/tweets/${encodeURIComponent(id)}`);
  }
  deleteTweet(id) {
    return this.request("DELETE", `/tweets/${encodeURIComponent(id)}`);
  }
  replies(id, cursor) {
    return this.request("GET", `/tweets/${encodeURIComponent(id)}/replies`, { query: { cursor, count: 20 } });
  }
  setLike(id, on) {
    return this.request(on ? "POST" : "DELETE", `/tweets/${encodeURIComponent(id)}/like`);
  }
  setRetweet(id, on) {
    return this.request(on ? "POST" : "DELETE", `/tweets/${encodeURIComponent(id)}/retweet`);
  }
  setBookmark(id, on) {
    return this.request(on ? "POST" : "DELETE", `/tweets/${encodeURIComponent(id)}/bookmark`);
  }
  bookmarks(cursor) {
    return this.request("GET", "/bookmarks", { query: { cursor, count: 20 } });
  }

  // -- timelines --
  home(cursor) {
    return this.request("GET", "/timeline/home", { query: { cursor, count: 20 } });
  }
  /** Tweets newer than `sinceId`, answered at once (timeout 0): the gap fill after a WebSocket reconnect. */
  newerThan(sinceId) {
    return this.request("GET", "/timeline/poll", { query: { since_id: sinceId, timeout: 0, count: 100 } });
  }

  // -- users --
  profile(username) {
    return this.request("GET", `/users/${encodeURIComponent(username)}`);
  }
  setFollow(username, on) {
    return this.request(on ? "POST" : "DELETE", `/users/${encodeURIComponent(username)}/follow`);
  }
  userTweets(username, cursor) {
    return this.request("GET", `/users/${encodeURIComponent(username)}/tweets`, { query: { cursor, count: 20 } });
  }
  userList(username, which, cursor) {
    return this.request("GET", `/users/${encodeURIComponent(username)}/${which}`, { query: { cursor, count: 50 } });
  }
  userLikes(username, cursor) {
    return this.request("GET", `/users/${encodeURIComponent(username)}/likes`, { query: { cursor, count: 20 } });
  }
  me() {
    return this.request("GET", "/users/me");
  }
  /** Only the fields given change: display_name, bio ("" clears), place ("" is worldwide), avatar_media_id. */
  updateMe(fields) {
    return this.request("PATCH", "/users/me", { body: fields });
  }
  changePassword(currentPassword, newPassword) {
    return this.request("POST", "/users/me/password", {
      body: { current_password: currentPassword, new_password: newPassword },
    });
  }
  deleteAccount(password) {
    return this.request("DELETE", "/users/me", { body: { password } });
  }
  suggestions() {
    return this.request("GET", "/users/suggestions", { query: { count: 5 } });
  }
  setBlock(username, on) {
    return this.request(on ? "POST" : "DELETE", `/users/${encodeURIComponent(username)}/block`);
  }
  setMute(username, on) {
    return this.request(on ? "POST" : "DELETE", `/users/${encodeURIComponent(username)}/mute`);
  }

  // -- search, trends, notifications --
  search(q, type, cursor) {
    return this.request("GET", "/search", { query: { q, type, cursor, count: 20 } });
  }
  searchUsers(q) {
    return this.request("GET", "/search/users", { query: { q, count: 5 } });
  }
  trends(place = "") {
    return this.request("GET", "/trends", { query: { count: 10, place } });
  }
  notifications(cursor) {
    return this.request("GET", "/notifications", { query: { cursor, count: 30 } });
  }
  markNotificationsRead(upTo) {
    return this.request("POST", "/notifications/read", { body: upTo ? { up_to: upTo } : {} });
  }

  // -- media: ask for a presigned slot, then send the bytes straight to object storage --
  async uploadMedia(file) {
    const ticket = await this.request("POST", "/media", { body: { content_type: file.type, size: file.size } });
    if (ticket.multipart) {
      await this.uploadParts(ticket, file);
      return this.processedMedia(ticket.media_id, { timeoutMs: 120000 });
    }
    const { url, method, headers, fields } = ticket.upload;
    let init;
    if (fields && Object.keys(fields).length) {
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      form.append("file", file);
      init = { method: method || "POST", body: form };
    } else {
      init = { method: method || "PUT", headers: headers || { "Content-Type": file.type }, body: file };
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      throw new ApiError(0, "network_error", "The image upload failed. Check your connection and try again.");
    }
    if (!response.ok) throw new ApiError(response.status, "upload_failed", "The image upload was refused.");
    return this.processedMedia(ticket.media_id);
  }

  /** A video above the single-upload limit: each part PUT to its presigned URL, then the upload completed with the
   * parts' ETags (S3 multipart upload). */
  async uploadParts(ticket, file) {
    const { upload_id: uploadId, part_size: partSize, parts } = ticket.multipart;
    const etags = [];
    for (const part of parts) {
      const start = (part.part_number - 1) * partSize;
      let response;
      try {
        response = await fetch(part.url, { method: "PUT", body: file.slice(start, start + partSize) });
      } catch {
        throw new ApiError(0, "network_error", "The video upload failed. Check your connection and try again.");
      }
      if (!response.ok) throw new ApiError(response.status, "upload_failed", "The video upload was refused.");
      etags.push(response.headers.get("ETag"));
    }
    await this.request("POST", `/media/${encodeURIComponent(ticket.media_id)}/complete`, {
      body: { upload_id: uploadId, etags },
    });
  }

  /** Waits for the media processor (it checks the file and makes its renditions, well under a second for an image):
   * a tweet takes only processed media. Resolves with the id; rejects with the reason a refused file was given. */
  async processedMedia(mediaId, { timeoutMs = 30000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 150; ; delay = Math.min(delay * 2, 1000)) {
      const media = await this.request("GET", `/media/${encodeURIComponent(mediaId)}`);
      if (media.status === "ready") return mediaId;
      if (media.status === "failed") throw new ApiError(400, "media_failed", `The file was refused: ${media.reason}`);
      if (Date.now() + delay > deadline) throw new ApiError(0, "media_timeout", "The image is taking too long to process.");
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Compare two snowflake-style ids (up to 19 digits, beyond Number's precision). */
export function compareIds(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
