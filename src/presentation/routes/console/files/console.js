// The KV console: one module, no framework, nothing fetched but this API's own routes. It
// calls the API as any client does (docs/api.md): a bearer token from /api/login, JSON
// bodies, and the change feed read as an event stream through fetch, since EventSource
// cannot send the Authorization header.

const PAGE_SIZE = 20;
const SESSION = "kv-console-session"; // sessionStorage: the token lasts as long as the tab
const FEED_SILENCE_MS = 75_000; // no byte (not even a heartbeat) for this long: reconnect
const MAX_RETRY_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once past this (a 30-day token)

const $ = (id) => document.getElementById(id);
const utf8 = new TextEncoder();

const state = {
  token: null,
  username: null,
  expiryTimer: 0,
  prefix: "",
  pages: [""], // the `after` cursor of each page walked through; the last is the one shown
  next: null,
  keys: [],
  open: null, // {key, version, isNew, shown: the editor's text and ttl as loaded}
  stored: null, // the value stored now, after a conflict
  feed: null, // AbortController of the change feed
  revision: 0, // the last revision whose changes have all been applied
  lastEventId: null, // the stream's last id when it is inside a revision (`N.K`), else null
};

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the server answered ${status}`);
    this.status = status;
    this.code = error.code || "";
    this.error = error;
  }
}

// ---------------------------------------------------------------- calling the API

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  } catch {
    throw new ApiError(0, {
      error: { code: "unreachable", message: "The server cannot be reached: try again." },
    });
  }
  const text = await response.text();
  if (response.ok) return text; // callers read it without losing a digit (readMembers)
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // an answer that is not JSON: the status says enough
  }
  const error = new ApiError(response.status, parsed);
  if (response.status === 401 && state.token) {
    sessionOver(`Your session has ended (${error.message}). Log in again.`);
  }
  throw error;
}

// Values are shown and saved as text: a 64-bit integer or a 2.0 keeps every digit, which
// JSON.parse followed by JSON.stringify would not.
function scanString(text, i) {
  for (i += 1; text[i] !== '"'; i += text[i] === "\\" ? 2 : 1) {
    if (i >= text.length) throw new SyntaxError("unterminated string");
  }
  return i + 1;
}

function scanValue(text, i) {
  if (text[i] === '"') return scanString(text, i);
  if (text[i] === "{" || text[i] === "[") {
    let depth = 0;
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new SyntaxError("unterminated value");
      if (c === '"') {
        i = scanString(text, i);
        continue;
      }
      if (c === "{" || c === "[") depth += 1;
      if (c === "}" || c === "]") depth -= 1;
      i += 1;
      if (depth === 0) return i;
    }
  }
  while (i < text.length && !",]} \t\r\n".includes(text[i])) i += 1;
  return i;
}

function skipSpace(text, i) {
  while (i < text.length && " \t\r\n".includes(text[i])) i += 1;
  return i;
}

// The members of a JSON object's text: name -> the member's value as text.
function readMembers(text) {
  const members = new Map();
  let i = skipSpace(text, 0) + 1; // past "{"
  for (;;) {
    i = skipSpace(text, i);
    if (text[i] === "}") return members;
    const end = scanString(text, i);
    const name = JSON.parse(text.slice(i, end));
    i = skipSpace(text, skipSpace(text, end) + 1); // past ":"
    const valueEnd = scanValue(text, i);
    members.set(name, text.slice(i, valueEnd));
    i = skipSpace(text, valueEnd);
    if (text[i] === ",") i += 1;
  }
}

// JSON text indented by two spaces per level; strings and numbers are copied as they are.
function pretty(text) {
  let out = "";
  let depth = 0;
  const newline = () => `\n${"  ".repeat(depth)}`;
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"') {
      const end = scanString(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === "{" || c === "[") {
      const j = skipSpace(text, i + 1);
      if (text[j] === (c === "{" ? "}" : "]")) {
        out += c + text[j];
        i = j + 1;
      } else {
        depth += 1;
        out += c + newline();
        i += 1;
      }
    } else if (c === "}" || c === "]") {
      depth -= 1;
      out += newline() + c;
      i += 1;
    } else if (c === ",") {
      out += `,${newline()}`;
      i += 1;
    } else if (c === ":") {
      out += ": ";
      i += 1;
    } else {
      if (!" \t\r\n".includes(c)) out += c;
      i += 1;
    }
  }
  return out;
}

function isJson(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// Keys are listed in the byte order of their UTF-8.
function compareKeys(a, b) {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------- messages

function announce(text) {
  $("announce").textContent = "";
  window.setTimeout(() => {
    $("announce").textContent = text;
  }, 50);
}

const FIELDS = ["username", "password", "prefix", "key", "value", "ttl"];

function clearErrors(...ids) {
  for (const id of ids) {
    const field = $(id);
    if (FIELDS.includes(id)) {
      field.removeAttribute("aria-invalid");
      $(`${id}-error`).textContent = "";
    } else {
      field.textContent = "";
    }
  }
}

function fieldError(id, message) {
  $(id).setAttribute("aria-invalid", "true");
  $(`${id}-error`).textContent = message;
}

// Where the API's answer says what is wrong: next to each field it names (the focus goes to
// the first), else under the form.
function showError(error, formError, fieldOf) {
  const marked = [];
  const fields = error.error.fields || {};
  for (const [name, problems] of Object.entries(fields)) {
    const id = fieldOf(name);
    if (id) {
      fieldError(id, problems.join(" "));
      marked.push(id);
    }
  }
  if (!marked.length && fieldOf(error.code)) {
    const id = fieldOf(error.code);
    fieldError(id, error.message);
    marked.push(id);
  }
  if (marked.length) $(marked[0]).focus();
  else $(formError).textContent = error.message;
}

// ---------------------------------------------------------------- session

function saveSession(username, token, expiresIn) {
  const expiresAt = Date.now() + expiresIn * 1000;
  sessionStorage.setItem(SESSION, JSON.stringify({ username, token, expiresAt }));
  startSession(username, token, expiresAt);
}

function startSession(username, token, expiresAt) {
  const sameUser = username === state.username;
  state.token = token;
  state.username = username;
  expireAt(expiresAt);
  $("whoami").textContent = username;
  $("session").hidden = false;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  clearErrors("login-notice", "login-error", "password", "username");
  $("password").value = "";
  if (!sameUser) closeEditor(); // the same user coming back keeps an unsaved edit
  startFeed();
  listFrom("");
  $("prefix").focus();
}

function expireAt(expiresAt) {
  window.clearTimeout(state.expiryTimer);
  const left = expiresAt - Date.now();
  state.expiryTimer = window.setTimeout(
    () =>
      left > MAX_TIMER_MS
        ? expireAt(expiresAt)
        : sessionOver("Your session has expired. Log in again."),
    Math.max(0, Math.min(left, MAX_TIMER_MS)),
  );
}

// Back to the login form with a message: a token that expired or was revoked, a logout.
function sessionOver(message) {
  stopFeed();
  window.clearTimeout(state.expiryTimer);
  state.token = null;
  sessionStorage.removeItem(SESSION);
  $("session").hidden = true;
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("confirm-delete").close();
  $("login-notice").textContent = message;
  $("username").value = state.username || $("username").value;
  $("password").focus();
}

async function logIn(event) {
  event.preventDefault();
  const register = event.submitter && event.submitter.value === "register";
  const username = $("username").value;
  clearErrors("login-notice", "login-error", "username", "password");
  const path = register ? "/api/register" : "/api/login";
  try {
    const answer = JSON.parse(await api("POST", path, { username, password: $("password").value }));
    announce(register ? `Account ${username} created, logged in` : `Logged in as ${username}`);
    saveSession(username, answer.token, answer.expires_in);
  } catch (error) {
    const byCode = { username_taken: "username" };
    showError(error, "login-error", (name) =>
      ["username", "password"].includes(name) ? name : byCode[name],
    );
  }
}

async function logOut() {
  stopFeed();
  try {
    await api("POST", "/api/logout");
  } catch {
    // the token is dropped all the same
  }
  sessionOver("You have logged out.");
}

// ---------------------------------------------------------------- listing

let listing = 0; // the latest listing asked for: an older one's answer is dropped
let seenWhileListing = null; // changes that came while a listing was on its way

function pageOf(after) {
  const query = new URLSearchParams({ prefix: state.prefix, limit: String(PAGE_SIZE) });
  if (after) query.set("after", after);
  return api("GET", `/api/keys?${query}`);
}

async function listFrom(after, pages = [after]) {
  clearErrors("prefix");
  const mine = ++listing;
  seenWhileListing = [];
  try {
    const answer = JSON.parse(await pageOf(after));
    if (mine !== listing) return;
    state.pages = pages;
    state.keys = answer.keys;
    state.next = answer.next;
    const seen = seenWhileListing;
    seenWhileListing = null;
    renderKeys();
    for (const change of seen) changeListed(change); // the page may have been read before them
    announce($("list-status").textContent);
  } catch (error) {
    if (mine !== listing) return;
    seenWhileListing = null;
    if (error.status !== 401) showError(error, "prefix-error", () => "prefix");
  }
}

function renderKeys() {
  const list = $("keys");
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  list.replaceChildren(
    ...state.keys.map((key) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "key";
      button.textContent = key;
      button.dataset.key = key;
      if (state.open && state.open.key === key) button.setAttribute("aria-current", "true");
      item.append(button);
      return item;
    }),
  );
  if (focused !== undefined && focused !== null) {
    const again = list.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    (again || $("keys-title")).focus();
  }
  const page = state.pages.length;
  const count = state.keys.length;
  let status;
  if (count) {
    const more = state.next ? ", more follow" : "";
    status = `Page ${page}: ${count} key${count === 1 ? "" : "s"}${more}`;
  } else {
    status = state.prefix ? `No key starts with “${state.prefix}”.` : "No keys yet.";
  }
  $("list-status").textContent = status;
  $("first-page").disabled = page === 1;
  $("prev-page").disabled = page === 1;
  $("next-page").disabled = !state.next;
}

// A change seen on the feed, on the page shown: a new key is put in its place when it falls
// within the page, a key deleted or expired goes.
function changeListed(change) {
  if (seenWhileListing) seenWhileListing.push(change);
  if (!change.key.startsWith(state.prefix)) return;
  const at = state.keys.indexOf(change.key);
  if (change.op === "put" && at < 0) {
    const keys = state.keys;
    const afterFirst =
      state.pages.length === 1 || (keys.length && compareKeys(change.key, keys[0]) > 0);
    const beforeLast = !state.next || (keys.length && compareKeys(change.key, keys.at(-1)) < 0);
    if (!afterFirst || !beforeLast) return;
    keys.push(change.key);
    keys.sort(compareKeys);
  } else if (change.op !== "put" && at >= 0) {
    state.keys.splice(at, 1);
  } else if (at < 0) {
    return;
  }
  renderKeys();
  const button = $("keys").querySelector(`[data-key="${CSS.escape(change.key)}"]`);
  if (button) button.classList.add("changed");
}

// ---------------------------------------------------------------- the editor

function describeExpiry(expiresAt) {
  if (!expiresAt) return "never";
  const seconds = Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000));
  let left = `${seconds} s`;
  if (seconds >= 7200) left = `${Math.round(seconds / 3600)} h`;
  else if (seconds >= 120) left = `${Math.round(seconds / 60)} min`;
  return `${expiresAt} (in ${left})`;
}

// The value of one key with its version and expiry, or null when it does not exist.
async function readKey(key) {
  const answer = readMembers(
    await api("POST", "/api/read", { keys: [key], include: ["version", "expires_at"] }),
  );
  const data = readMembers(answer.get("data"));
  if (!data.has(key)) return null;
  const meta = JSON.parse(answer.get("meta"))[key];
  return { text: data.get(key), version: meta.version, expiresAt: meta.expires_at };
}

function editorShows(key, found) {
  const isNew = found === null;
  state.open = { key, isNew, version: isNew ? 0 : found.version, shown: null };
  state.stored = null;
  $("editor-panel").hidden = false;
  $("conflict").hidden = true;
  clearErrors("editor-notice", "editor-error", "key", "value", "ttl");
  $("editor-title").textContent = isNew ? "New key" : key;
  $("key").value = key;
  $("key").readOnly = !isNew;
  $("meta").hidden = isNew;
  $("delete").hidden = isNew;
  $("value").value = isNew ? "" : pretty(found.text);
  $("ttl").value = "";
  if (!isNew) {
    $("meta-version").textContent = String(found.version);
    $("meta-expires").textContent = describeExpiry(found.expiresAt);
    if (found.expiresAt) {
      // keep the key's expiry when it is saved unless the field is changed
      const left = Math.floor((Date.parse(found.expiresAt) - Date.now()) / 1000);
      $("ttl").value = String(Math.max(1, left));
    }
  }
  state.open.shown = [$("value").value, $("ttl").value];
  renderKeys();
}

function edited() {
  return (
    state.open &&
    state.open.shown &&
    ($("value").value !== state.open.shown[0] || $("ttl").value !== state.open.shown[1])
  );
}

async function openKey(key) {
  try {
    const found = await readKey(key);
    if (found === null) {
      changeListed({ key, op: "delete" });
      announce(`${key} no longer exists`);
      $("list-status").textContent = `“${key}” no longer exists.`;
      return;
    }
    editorShows(key, found);
    $("editor-title").focus();
  } catch (error) {
    if (error.status !== 401) $("list-status").textContent = error.message;
  }
}

function newKey() {
  editorShows($("prefix").value, null);
  $("key").focus();
}

function closeEditor() {
  state.open = null;
  state.stored = null;
  $("editor-panel").hidden = true;
  renderKeys();
}

const EDITOR_FIELDS = {
  invalid_key: "key",
  invalid_value: "value",
  invalid_json: "value",
  empty_body: "value",
  number_out_of_range: "value",
  too_deep: "value",
  invalid_ttl: "ttl",
  data: "value",
  ttl: "ttl",
};

async function save(event) {
  event.preventDefault();
  const open = state.open;
  const key = $("key").value;
  const text = $("value").value;
  const ttl = $("ttl").value.trim();
  clearErrors("editor-error", "editor-notice", "key", "value", "ttl");
  const fieldOf = (name) => EDITOR_FIELDS[name];
  try {
    if (!isJson(text)) {
      // Text that is not one JSON value goes alone as the body of a read, which changes
      // nothing: the API's parser says what is wrong, at the text's own line and column.
      await api("POST", "/api/read", text);
      fieldError("value", "This is not a JSON value.");
      $("value").focus();
      return;
    }
    const name = JSON.stringify(key);
    // the editor's text is spliced in as it is: checked above to be exactly one JSON value
    let body = `{"data": {${name}: ${text}}, "if_version": {${name}: ${open.version}}`;
    if (ttl) body += `, "ttl": ${/^(0|[1-9][0-9]*)$/.test(ttl) ? ttl : JSON.stringify(ttl)}`;
    await api("POST", "/api/write", `${body}}`);
    open.version += 1; // what a conditional write makes: the feed's echo of it is ours
    open.isNew = false;
    const found = await readKey(key);
    if (found) {
      editorShows(key, found);
      changeListed({ key, op: "put" });
    }
    $("editor-notice").textContent = `Saved: version ${found ? found.version : "?"}.`;
    announce(`Saved ${key}`);
  } catch (error) {
    if (error.status === 401) return;
    if (error.code === "version_conflict") {
      await showConflict(key);
      return;
    }
    showError(error, "editor-error", fieldOf);
  }
}

// A 409: what is stored now, beside the edit, which stays; the next Save replaces that
// version (or creates the key again if it is gone).
async function showConflict(key) {
  let found = null;
  try {
    found = await readKey(key);
  } catch (error) {
    if (error.status !== 401) $("editor-error").textContent = error.message;
    return;
  }
  const open = state.open;
  const mine = open.isNew
    ? "It did not exist when you started."
    : `You edited version ${open.version}.`;
  // from now on the editor is about this key, at the version stored now
  open.key = key;
  open.isNew = false;
  open.version = found ? found.version : 0;
  $("key").readOnly = true;
  $("editor-title").textContent = key;
  $("meta").hidden = !found;
  $("delete").hidden = !found;
  state.stored = found;
  if (found) {
    $("conflict-text").textContent =
      `Someone else changed “${key}”: version ${found.version} is stored now. ${mine} ` +
      "Your text is kept below: Save again to replace the stored value with it, " +
      "or take the stored value.";
    $("conflict-value").textContent = pretty(found.text);
    $("meta-version").textContent = String(found.version);
    $("meta-expires").textContent = describeExpiry(found.expiresAt);
  } else {
    $("conflict-text").textContent =
      `“${key}” no longer exists (deleted or expired). ${mine} Save again to create it.`;
    $("conflict-value").textContent = "";
  }
  $("take-stored").hidden = !found;
  $("conflict").hidden = false;
  $("conflict").focus();
}

function takeStored() {
  const key = state.open.key;
  const found = state.stored;
  if (found) editorShows(key, found);
  $("value").focus();
}

function askDelete() {
  $("confirm-text").textContent = `“${state.open.key}” and its value will be gone for good.`;
  $("confirm-delete").showModal();
}

async function deleteKey() {
  $("confirm-delete").close();
  const key = state.open.key;
  clearErrors("editor-error", "editor-notice");
  try {
    await api("POST", "/api/delete", { keys: [key], if_version: { [key]: state.open.version } });
    changeListed({ key, op: "delete" });
    closeEditor();
    $("list-status").textContent = `Deleted “${key}”.`;
    announce(`Deleted ${key}`);
    $("new-key").focus();
  } catch (error) {
    if (error.status === 401) return;
    if (error.code === "version_conflict") await showConflict(key);
    else $("editor-error").textContent = error.message;
  }
}

// ---------------------------------------------------------------- the change feed

function setLive(live, text) {
  $("live").dataset.state = live ? "on" : "off";
  $("live").textContent = text;
}

function stopFeed() {
  if (state.feed) state.feed.abort();
  state.feed = null;
  setLive(false, "Offline");
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        window.clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

async function startFeed() {
  stopFeed();
  const feed = new AbortController();
  state.feed = feed;
  setLive(false, "Connecting…");
  try {
    // the current revision first, then the stream from there: nothing in between is missed
    state.revision = JSON.parse(await api("GET", "/api/watch?timeout=0")).revision;
    state.lastEventId = null;
  } catch {
    state.revision = null; // the stream starts from now, as a watch without `since` does
    state.lastEventId = null;
  }
  follow(feed);
}

// The stream, reconnected with Last-Event-ID for as long as the session lasts.
async function follow(feed) {
  let wait = 1000;
  let first = true;
  while (!feed.signal.aborted) {
    const connection = new AbortController();
    const stop = () => connection.abort();
    feed.signal.addEventListener("abort", stop);
    let silence = window.setTimeout(stop, FEED_SILENCE_MS);
    const heard = () => {
      window.clearTimeout(silence);
      silence = window.setTimeout(stop, FEED_SILENCE_MS);
    };
    try {
      const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
      let path = "/api/watch";
      if (first && state.revision !== null) path += `?since=${state.revision}`;
      else if (state.revision !== null)
        headers["Last-Event-ID"] = state.lastEventId ?? String(state.revision);
      const response = await fetch(path, { headers, signal: connection.signal, cache: "no-store" });
      if (response.ok) {
        first = false;
        wait = 1000; // until the stream's own `retry:` says otherwise
        setLive(true, "Live");
        const end = await readStream(response.body, heard, (retry) => {
          wait = retry;
        });
        if (end && end.reason === "token_expired") {
          sessionOver("Your session has expired. Log in again.");
          return;
        }
        if (end && end.reason === "session_ended") {
          sessionOver(
            "Your session has ended (a logout, a password change or the account deleted). " +
              "Log in again.",
          );
          return;
        }
        if (end && end.reason === "history_compacted") await caughtUp(end.error.revision);
      } else {
        const error = new ApiError(response.status, await response.json().catch(() => null));
        if (response.status === 401) {
          sessionOver(`Your session has ended (${error.message}). Log in again.`);
          return;
        }
        if (error.code === "history_compacted") await caughtUp(error.error.revision);
        else wait = Math.max(wait, Number(response.headers.get("Retry-After") || 1) * 1000);
      }
    } catch {
      // a dropped connection or a silent one: reconnect below
    } finally {
      window.clearTimeout(silence);
      feed.signal.removeEventListener("abort", stop);
    }
    if (feed.signal.aborted) return;
    setLive(false, "Reconnecting…");
    await sleep(wait, feed.signal);
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

// The history the stream would resume from is gone: list again, watch from now.
async function caughtUp(revision) {
  state.revision = revision;
  state.lastEventId = null;
  await listFrom(state.pages.at(-1), state.pages);
}

// Server-Sent Events from a fetch body: each change applied as it comes, `id:` (on the last
// event of a revision) kept for Last-Event-ID. Resolves with the `end` event's data, or null
// when the connection closes without one.
async function readStream(body, heard, setRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    heard();
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (event.data.length) {
          const data = JSON.parse(event.data.join("\n"));
          if (event.type === "end") return data;
          if (event.type === "message") changed(data);
          if (event.id !== null) {
            // `N`, or `N.K` inside a revision that comes in fragments: resume from exactly there
            state.lastEventId = event.id;
            state.revision = Number(event.id.split(".")[0]);
          }
        }
        event = { type: "message", data: [], id: null };
        continue;
      }
      if (line.startsWith(":")) continue; // the heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") event.data.push(text);
      else if (field === "event") event.type = text;
      else if (field === "id") event.id = text;
      else if (field === "retry" && /^[0-9]+$/.test(text)) setRetry(Number(text));
    }
  }
}

async function changed(change) {
  changeListed(change);
  const open = state.open;
  if (!open || open.isNew || open.key !== change.key) return;
  if (change.op === "put" && change.version <= open.version) return; // our own save
  if (change.op !== "put") {
    open.version = 0;
    $("editor-notice").textContent =
      change.op === "expire" ? "This key has expired." : "This key was deleted elsewhere.";
    $("meta-version").textContent = "none (gone)";
    return;
  }
  if (edited()) {
    $("editor-notice").textContent =
      `Version ${change.version} was saved elsewhere; your edit is kept (Save will show both).`;
    return;
  }
  try {
    const found = await readKey(change.key);
    if (found && state.open === open) {
      editorShows(change.key, found);
      $("editor-notice").textContent = `Updated: version ${found.version} was saved elsewhere.`;
    }
  } catch {
    // the next change or a Save tells again
  }
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("list-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.prefix = $("prefix").value;
    listFrom("");
  });
  $("first-page").addEventListener("click", () => listFrom(""));
  $("prev-page").addEventListener("click", () => {
    const pages = state.pages.slice(0, -1);
    listFrom(pages.at(-1), pages);
  });
  $("next-page").addEventListener("click", () =>
    listFrom(state.next, [...state.pages, state.next]),
  );
  $("keys").addEventListener("click", (event) => {
    const button = event.target.closest("button.key");
    if (button) openKey(button.dataset.key);
  });
  $("new-key").addEventListener("click", newKey);
  $("editor-form").addEventListener("submit", save);
  $("delete").addEventListener("click", askDelete);
  $("close-editor").addEventListener("click", closeEditor);
  $("take-stored").addEventListener("click", takeStored);
  $("cancel-delete").addEventListener("click", () => $("confirm-delete").close());
  $("confirm-delete-button").addEventListener("click", deleteKey);
  $("keys").addEventListener("animationend", (event) => event.target.classList.remove("changed"));
}

function resume() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(SESSION) || "null");
  } catch {
    // a damaged entry: log in again
  }
  if (saved && saved.expiresAt > Date.now())
    startSession(saved.username, saved.token, saved.expiresAt);
  else $("username").focus();
}

wire();
resume();
