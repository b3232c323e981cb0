// The tokenpair demo page: plain JavaScript, no build step, no dependency.
//
// What is worth copying:
// - the access token lives in one variable of this module, never in localStorage,
//   sessionStorage or a cookie; the refresh token is never seen by this script at all: the
//   auth service keeps it in an HttpOnly cookie, sent only with `credentials: "include"`;
// - a 401 with `error="invalid_token"` (RFC 6750) is the one answer a refresh can fix; every
//   call that meets it waits for ONE shared refresh, then retries once;
// - a reload restores the session by refreshing with the cookie;
// - user data is written with textContent only (never innerHTML), and the page's CSP allows
//   scripts from its own origin only.

const config = await (await fetch("config.json")).json();
const AUTH = config.auth;
const RESOURCE = config.resource;

let accessToken = null; // in memory only: gone with the tab, by design
let expiresAt = 0;
let username = null;
let refreshing = null; // the refresh in flight, shared by every caller
let refreshes = 0;

const $ = (id) => document.getElementById(id);

class LoggedOut extends Error {}

// The auth service ------------------------------------------------------------------------

async function authPost(path, body = {}) {
  // credentials: "include" sends and accepts the refresh cookie (Path=/auth, SameSite=Strict).
  return fetch(`${AUTH}${path}`, {
    method: "POST",
    credentials: "include",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function takeTokens(answer) {
  accessToken = answer.access_token;
  expiresAt = Date.now() + answer.expires_in * 1000;
  tick();
}

// Start a refresh unless one is already running; every caller awaits the same one.
function refresh() {
  refreshing ??= (async () => {
    try {
      const response = await authPost("/auth/refresh");
      if (!response.ok) {
        accessToken = null;
        return false;
      }
      takeTokens(await response.json());
      refreshes += 1;
      $("refreshes").textContent = String(refreshes);
      return true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// Call a service with the access token; on an expired or rejected token refresh once, retry once.
async function call(base, path, options = {}) {
  const send = (token) =>
    fetch(`${base}${path}`, {
      ...options,
      headers: { ...options.headers, Authorization: `Bearer ${token}` },
    });
  const sent = accessToken;
  let response = await send(sent);
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  if (response.status === 401 && challenge.includes('error="invalid_token"')) {
    // Another call may have refreshed while this one was on the wire: then just retry.
    const fresh = accessToken !== sent && accessToken !== null ? true : await refresh();
    if (!fresh) throw new LoggedOut();
    response = await send(accessToken);
  }
  if (response.status === 401) throw new LoggedOut();
  return response;
}

async function problem(response) {
  try {
    const body = await response.json();
    return body.error_description ?? body.error ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

// Screens ---------------------------------------------------------------------------------

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function show(signedIn) {
  $("signin").hidden = signedIn;
  $("notes-view").hidden = !signedIn;
  $("sessions-view").hidden = !signedIn;
  $("who").hidden = !signedIn;
}

async function enter() {
  show(true);
  if (username === null) {
    const me = await (await call(RESOURCE, "/api/me")).json();
    username = `user ${me.sub.slice(0, 8)}…`;
  }
  $("username").textContent = username;
  await Promise.all([loadNotes(), loadSessions()]);
}

function leave(message = "Signed out.") {
  accessToken = null;
  username = null;
  show(false);
  $("notes").replaceChildren();
  $("sessions").replaceChildren();
  say(message);
}

// Run an action of the signed-in screens; a session that ended sends the user to sign in.
async function guarded(action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof LoggedOut) leave("Your session has ended; please sign in again.");
    else say(String(error), true);
  }
}

// Notes ----------------------------------------------------------------------------------------

async function loadNotes() {
  const response = await call(RESOURCE, "/api/notes");
  if (!response.ok) return say(await problem(response), true);
  const { notes } = await response.json();
  $("notes").replaceChildren(...notes.map(noteItem));
}

function noteItem(note) {
  const item = document.createElement("li");
  item.dataset.id = note.id;
  const text = document.createElement("span");
  text.textContent = note.text;
  const when = document.createElement("small");
  when.textContent = new Date(note.created_at).toLocaleString();
  text.append(when);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Delete";
  remove.addEventListener("click", () =>
    guarded(async () => {
      const response = await call(RESOURCE, `/api/notes/${encodeURIComponent(note.id)}`, {
        method: "DELETE",
      });
      if (!response.ok && response.status !== 404) return say(await problem(response), true);
      item.remove();
      say("Note deleted.");
    }),
  );
  item.append(text, remove);
  return item;
}

async function addNote(event) {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  await guarded(async () => {
    const response = await call(RESOURCE, "/api/notes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    });
    if (!response.ok) return say(await problem(response), true);
    $("notes").prepend(noteItem(await response.json()));
    $("note-text").value = "";
    say("Note added.");
  });
}

// Sessions ---------------------------------------------------------------------------------

async function loadSessions() {
  const response = await call(AUTH, "/auth/sessions");
  if (!response.ok) return say(await problem(response), true);
  const { sessions } = await response.json();
  $("sessions").replaceChildren(...sessions.map(sessionItem));
}

function sessionItem(session) {
  const item = document.createElement("li");
  item.dataset.id = session.id;
  const text = document.createElement("span");
  text.textContent = session.current ? "this browser" : `session ${session.id.slice(0, 8)}…`;
  if (session.current) text.className = "current";
  const when = document.createElement("small");
  when.textContent = `since ${new Date(session.created_at).toLocaleString()}`;
  text.append(when);
  const end = document.createElement("button");
  end.type = "button";
  end.className = "danger";
  end.textContent = "End";
  end.addEventListener("click", () =>
    guarded(async () => {
      const response = await call(AUTH, `/auth/sessions/${encodeURIComponent(session.id)}`, {
        method: "DELETE",
      });
      if (!response.ok && response.status !== 404) return say(await problem(response), true);
      if (session.current) {
        await authPost("/auth/logout"); // drops the cookie of the session just ended
        return leave("This session was ended.");
      }
      item.remove();
      say("Session ended.");
    }),
  );
  item.append(text, end);
  return item;
}

// Signing in and out ---------------------------------------------------------------------

async function login(register) {
  const credentials = { username: $("name").value.trim(), password: $("password").value };
  if (register) {
    const created = await authPost("/auth/register", credentials);
    if (created.status !== 201) return say(await problem(created), true);
  }
  const response = await authPost("/auth/login", credentials);
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    return say(`${await problem(response)}${retry ? ` (try again in ${retry} s)` : ""}`, true);
  }
  takeTokens(await response.json());
  username = credentials.username.toLowerCase();
  $("password").value = "";
  say(register ? "Registered and signed in." : "Signed in.");
  await guarded(enter);
}

async function logout() {
  await authPost("/auth/logout"); // revokes the session and expires the cookie
  leave();
}

function tick() {
  const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
  $("expires").textContent = accessToken ? `${left} s` : "–";
}

$("credentials").addEventListener("submit", (event) => {
  event.preventDefault();
  login(false);
});
$("register").addEventListener("click", () => {
  if ($("credentials").reportValidity()) login(true);
});
$("new-note").addEventListener("submit", addNote);
$("logout").addEventListener("click", logout);
$("reload-sessions").addEventListener("click", () => guarded(loadSessions));
setInterval(tick, 1000);

// A reload: the cookie (if any) still holds the session, so one refresh restores it.
if (await refresh()) {
  say("Session restored from the cookie.");
  await guarded(enter);
} else {
  show(false);
}
document.body.dataset.ready = "true";
