/* The /test web client: a small chat over the REST API and Socket.IO, plus a REST / WebSocket tester.
   Everything a user typed is rendered with textContent, never as HTML. */
"use strict";

const MAX_CONTENT = 1000;
const TOKENS_KEY = "chat.tokens";
const $ = (id) => document.getElementById(id);

const state = {
  access: null,
  refresh: null,
  user: null,
  socket: null,
  refreshTimer: null,
  hadSession: false,
  rooms: new Map(), // id → room from GET /api/rooms/
  currentRoomId: null,
  messages: new Map(), // roomId → Map(seq → message)
  nextBefore: new Map(), // roomId → seq of the oldest loaded page, or null when all is loaded
  syncedAt: null,
  online: new Map(), // userId → username
  typing: new Map(), // userId → { username, timer }
  typingSentAt: 0,
  typingStopTimer: null,
  rawWs: null,
  onlineTimer: null,
};

// Presence events reach only users who share a room; the global online list is polled as well.
const ONLINE_POLL_MS = 5000;

/* ---------- tokens and REST ---------- */

function decodeJwt(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(decodeURIComponent(escape(atob(payload))));
}

function saveTokens(access, refresh) {
  state.access = access;
  state.refresh = refresh;
  const claims = decodeJwt(access);
  state.user = { id: claims.user_id, username: claims.username };
  localStorage.setItem(TOKENS_KEY, JSON.stringify({ access, refresh }));
  scheduleRefresh(claims.exp);
}

function scheduleRefresh(exp) {
  clearTimeout(state.refreshTimer);
  const inMs = Math.max(5000, exp * 1000 - Date.now() - 60000);
  state.refreshTimer = setTimeout(() => refreshTokens().catch(() => logout()), inMs);
}

async function refreshTokens() {
  const res = await fetch("/api/token/refresh/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh: state.refresh }),
  });
  if (!res.ok) throw new Error("refresh failed");
  const { access, refresh } = await res.json();
  saveTokens(access, refresh);
  // A connected socket re-authenticates; a disconnected one uses the new token when it reconnects.
  if (state.socket && state.socket.connected) state.socket.emit("auth", access, () => undefined);
}

async function api(method, path, body, retry = true) {
  const headers = {};
  if (state.access) headers.authorization = `Bearer ${state.access}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (res.status === 401 && retry && state.refresh && data && data.code === "TOKEN_EXPIRED") {
    await refreshTokens();
    return api(method, path, body, false);
  }
  if (!res.ok) {
    const err = new Error((data && data.error) || `HTTP ${res.status}`);
    err.status = res.status;
    err.code = data && data.code;
    throw err;
  }
  return data;
}

/* ---------- socket ---------- */

function setConnState(text) {
  const el = $("conn-state");
  el.textContent = text;
  el.dataset.state = text;
}

function call(name, params) {
  return new Promise((resolve, reject) => {
    if (!state.socket || !state.socket.connected) return reject(new Error("not connected"));
    state.socket.timeout(10000).emit("call", name, params, (timeoutErr, err, res) => {
      if (timeoutErr) return reject(new Error("no answer from the server"));
      if (err) return reject(Object.assign(new Error(err.message), { code: err.type }));
      resolve(res);
    });
  });
}

function connectSocket() {
  // `auth` as a function: every reconnect presents the current access token.
  const socket = io({ auth: (cb) => cb({ token: state.access }), transports: ["websocket", "polling"] });
  state.socket = socket;
  window.chatSocket = socket; // for poking at from the developer console
  setConnState("connecting");
  socket.on("session", () => {
    if (state.hadSession) {
      setConnState("catching up");
      catchUp()
        .then(() => setConnState("connected"))
        .catch((err) => showChatError(`Catch-up failed: ${err.message}`));
    } else {
      setConnState("connected");
    }
    state.hadSession = true;
    loadRooms().catch(showChatErrorFrom);
    loadOnline().catch(showChatErrorFrom);
  });
  socket.on("disconnect", (reason) => {
    setConnState("reconnecting");
    // The server ended the session (token expiry): refresh, then reconnect by hand.
    if (reason === "io server disconnect") {
      refreshTokens()
        .then(() => socket.connect())
        .catch(() => logout());
    }
  });
  socket.on("connect_error", (err) => {
    setConnState("reconnecting");
    if (err.message === "unauthorized") refreshTokens().catch(() => logout());
  });
  socket.on("message", (message) => receiveMessage(message));
  socket.on("message.updated", (message) => receiveMessage(message));
  socket.on("message.deleted", (message) => receiveMessage(message));
  socket.on("typing", showTyping);
  socket.on("presence", (event) => {
    if (event.is_online) state.online.set(event.user_id, event.username);
    else state.online.delete(event.user_id);
    renderOnline();
    if (state.currentRoomId) loadMembers(state.currentRoomId).catch(showChatErrorFrom);
  });
  socket.on("room.created", () => loadRooms().catch(showChatErrorFrom));
  socket.on("room.member_joined", (event) => memberChanged(event));
  socket.on("room.member_left", (event) => memberChanged(event));
}

/** After a reconnect: everything after the last seq of each loaded room, plus edits and deletes since the last sync. */
async function catchUp() {
  const rooms = {};
  for (const [roomId, messages] of state.messages) rooms[roomId] = lastSeq(roomId, messages);
  if (Object.keys(rooms).length === 0) return;
  const params = state.syncedAt ? { rooms, since: state.syncedAt } : { rooms };
  const result = await call("messages.sync", params);
  state.syncedAt = result.syncedAt;
  for (const roomSync of Object.values(result.rooms)) {
    for (const message of [...roomSync.messages, ...roomSync.changed]) storeMessage(message);
  }
  renderMessages();
  renderRooms();
}

/* ---------- rooms and messages ---------- */

function lastSeq(roomId, messages = state.messages.get(roomId)) {
  let max = 0;
  if (messages) for (const seq of messages.keys()) max = Math.max(max, seq);
  return max;
}

function storeMessage(message) {
  const messages = state.messages.get(message.room_id);
  if (!messages) return false;
  messages.set(message.seq, message); // keyed by seq: a repeat replaces, never doubles
  return true;
}

function receiveMessage(message) {
  const room = state.rooms.get(message.room_id);
  const known = state.messages.get(message.room_id);
  const isNew = !known || !known.has(message.seq);
  if (known && isNew && message.seq > lastSeq(message.room_id) + 1) {
    // A gap: fetch what is missing instead of guessing.
    call("messages.sync", { rooms: { [message.room_id]: lastSeq(message.room_id) } })
      .then((result) => {
        const roomSync = result.rooms[message.room_id];
        if (roomSync) roomSync.messages.forEach(storeMessage);
        renderMessages();
      })
      .catch(showChatErrorFrom);
  }
  storeMessage(message);
  if (room && isNew) {
    room.last_message = message;
    room.last_seq = Math.max(room.last_seq, message.seq);
    if (message.room_id === state.currentRoomId && document.visibilityState !== "hidden") markRead(message.room_id);
    else if (message.sender.id !== state.user.id) room.unread_count += 1;
  } else if (room && room.last_message && room.last_message.seq === message.seq) {
    room.last_message = message;
  }
  if (!room && isNew) loadRooms().catch(showChatErrorFrom);
  renderRooms();
  if (message.room_id === state.currentRoomId) renderMessages(isNew);
}

async function loadRooms() {
  const page = await api("GET", "/api/rooms/?page_size=100");
  state.rooms = new Map(page.results.map((room) => [room.id, room]));
  renderRooms();
}

async function loadOnline() {
  const { users } = await api("GET", "/api/users/online/");
  state.online = new Map(users.map((u) => [u.id, u.username]));
  renderOnline();
}

async function openRoom(roomId) {
  state.currentRoomId = roomId;
  clearTypingIndicators();
  const room = state.rooms.get(roomId);
  $("room-title").textContent = room ? room.name : `Room ${roomId}`;
  $("messages").replaceChildren();
  renderRooms();
  updateRoomControls();
  if (!room || !room.is_member) {
    $("members").replaceChildren();
    return;
  }
  if (!state.messages.has(roomId)) {
    const page = await api("GET", `/api/rooms/${roomId}/messages/`);
    state.messages.set(roomId, new Map());
    page.results.forEach(storeMessage);
    state.nextBefore.set(roomId, page.next_before);
  }
  renderMessages(true);
  await Promise.all([loadMembers(roomId), markRead(roomId)]);
}

async function loadOlder() {
  const roomId = state.currentRoomId;
  const before = state.nextBefore.get(roomId);
  if (!roomId || !before) return;
  state.nextBefore.set(roomId, null); // one request at a time
  const list = $("messages");
  const heightBefore = list.scrollHeight;
  const page = await api("GET", `/api/rooms/${roomId}/messages/?before=${before}`);
  page.results.forEach(storeMessage);
  state.nextBefore.set(roomId, page.next_before);
  renderMessages();
  list.scrollTop = list.scrollHeight - heightBefore; // keep the reader's place
}

async function loadMembers(roomId) {
  const { users } = await api("GET", `/api/rooms/${roomId}/users/`);
  if (roomId !== state.currentRoomId) return;
  const items = users.map((user) => {
    const li = document.createElement("li");
    const dot = document.createElement("span");
    dot.className = `dot${user.is_online ? " online" : ""}`;
    dot.title = user.is_online ? "online" : "offline";
    const name = document.createElement("span");
    name.textContent = user.role === "member" ? user.username : `${user.username} (${user.role})`;
    li.append(dot, name);
    li.dataset.userId = String(user.id);
    li.dataset.online = String(user.is_online);
    return li;
  });
  $("members").replaceChildren(...items);
}

async function markRead(roomId) {
  const room = state.rooms.get(roomId);
  if (!room || !room.is_member) return;
  const seq = lastSeq(roomId);
  room.unread_count = 0;
  renderRooms();
  if (seq > room.last_read_seq) {
    room.last_read_seq = seq;
    await api("POST", `/api/rooms/${roomId}/read/`, { seq });
  }
}

function memberChanged(event) {
  loadRooms()
    .then(() => {
      if (event.room_id === state.currentRoomId) {
        updateRoomControls();
        return loadMembers(event.room_id);
      }
    })
    .catch(showChatErrorFrom);
}

/* ---------- rendering ---------- */

function renderRooms() {
  const items = [...state.rooms.values()].map((room) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "room-item";
    button.dataset.roomId = String(room.id);
    if (room.id === state.currentRoomId) button.setAttribute("aria-current", "true");
    const name = document.createElement("span");
    name.className = "room-name";
    name.textContent = room.room_type === "direct" ? `@ ${room.name}` : `# ${room.name}`;
    button.append(name);
    if (room.unread_count > 0) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = String(room.unread_count);
      badge.setAttribute("aria-label", `${room.unread_count} unread`);
      button.append(badge);
    }
    const last = document.createElement("span");
    last.className = "room-last";
    if (room.last_message) {
      const m = room.last_message;
      last.textContent = m.is_deleted ? `${m.sender.username}: (deleted)` : `${m.sender.username}: ${m.content}`;
    } else {
      last.textContent = room.is_member ? "No messages yet" : "Not joined";
    }
    button.append(last);
    button.addEventListener("click", () => openRoom(room.id).catch(showChatErrorFrom));
    li.append(button);
    return li;
  });
  $("rooms").replaceChildren(...items);
}

function renderOnline() {
  const items = [...state.online].map(([id, username]) => {
    const li = document.createElement("li");
    const dot = document.createElement("span");
    dot.className = "dot online";
    const name = document.createElement("span");
    name.textContent = username;
    li.append(dot, name);
    li.dataset.userId = String(id);
    if (id !== state.user.id) {
      const dm = document.createElement("button");
      dm.type = "button";
      dm.textContent = "Message";
      dm.setAttribute("aria-label", `Message ${username}`);
      dm.addEventListener("click", () => startDirect(id).catch(showChatErrorFrom));
      li.append(dm);
    }
    return li;
  });
  $("online").replaceChildren(...items);
}

function renderMessages(scrollToEnd = false) {
  const roomId = state.currentRoomId;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const messages = [...(state.messages.get(roomId) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  list.replaceChildren(...messages.map(renderMessage));
  if (scrollToEnd || atBottom) list.scrollTop = list.scrollHeight;
}

function renderMessage(message) {
  const li = document.createElement("li");
  const own = message.sender.id === state.user.id;
  li.className = `message${own ? " own" : ""}${message.is_deleted ? " deleted" : ""}`;
  li.dataset.seq = String(message.seq);
  li.dataset.id = String(message.id);
  const header = document.createElement("div");
  const sender = document.createElement("span");
  sender.className = "sender";
  sender.textContent = message.sender.username;
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = new Date(message.created_at).toLocaleTimeString();
  meta.textContent = `#${message.seq} · ${time}${message.edited_at && !message.is_deleted ? " · edited" : ""}`;
  header.append(sender, meta);
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = message.is_deleted ? "message deleted" : message.content;
  li.append(header, content);
  if (own && !message.is_deleted) {
    const actions = document.createElement("div");
    actions.className = "actions";
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "edit";
    edit.textContent = "Edit";
    edit.addEventListener("click", () => startEdit(li, message));
    const del = document.createElement("button");
    del.type = "button";
    del.className = "delete";
    del.textContent = "Delete";
    del.addEventListener("click", () =>
      call("messages.delete", { messageId: message.id }).then(receiveMessage).catch(showChatErrorFrom),
    );
    actions.append(edit, del);
    li.append(actions);
  }
  return li;
}

function startEdit(li, message) {
  const form = document.createElement("form");
  form.className = "edit-form";
  const label = document.createElement("label");
  label.textContent = "Edit message";
  const input = document.createElement("input");
  input.className = "edit-input";
  input.value = message.content;
  label.append(input);
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "save-edit";
  save.textContent = "Save";
  form.append(label, save);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    call("messages.edit", { messageId: message.id, content: input.value })
      .then(receiveMessage)
      .catch(showChatErrorFrom);
  });
  li.querySelector(".actions").replaceWith(form);
  input.focus();
}

function updateRoomControls() {
  const room = state.rooms.get(state.currentRoomId);
  const member = Boolean(room && room.is_member);
  $("join-room").hidden = !room || member || room.room_type === "direct";
  $("leave-room").hidden = !member || room.room_type === "direct";
  $("composer").disabled = !member;
  updateCounter();
}

function updateCounter() {
  const text = $("composer").value;
  const length = [...text].length;
  const counter = $("counter");
  counter.textContent = `${length}/${MAX_CONTENT}`;
  counter.classList.toggle("over", length > MAX_CONTENT);
  $("send").disabled = $("composer").disabled || length > MAX_CONTENT || text.trim() === "";
}

function showTyping(event) {
  if (event.room_id !== state.currentRoomId || event.user_id === state.user.id) return;
  const previous = state.typing.get(event.user_id);
  if (previous) clearTimeout(previous.timer);
  if (event.typing) {
    const timer = setTimeout(() => {
      state.typing.delete(event.user_id);
      renderTyping();
    }, event.expires_in_ms || 5000);
    state.typing.set(event.user_id, { username: event.username, timer });
  } else {
    state.typing.delete(event.user_id);
  }
  renderTyping();
}

function clearTypingIndicators() {
  for (const { timer } of state.typing.values()) clearTimeout(timer);
  state.typing.clear();
  renderTyping();
}

function renderTyping() {
  const names = [...state.typing.values()].map((t) => t.username);
  $("typing").textContent =
    names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

function showChatError(text) {
  $("chat-error").textContent = text;
}

function showChatErrorFrom(err) {
  showChatError(err.message);
}

/* ---------- actions ---------- */

async function sendMessage() {
  const composer = $("composer");
  const content = composer.value;
  const roomId = state.currentRoomId;
  if (!roomId || content.trim() === "" || [...content].length > MAX_CONTENT) return;
  // One id per message: a retry after a lost ack is stored once.
  const params = { roomId, content, clientMsgId: crypto.randomUUID() };
  showChatError("");
  try {
    const message =
      state.socket && state.socket.connected
        ? await call("messages.send", params)
        : await api("POST", `/api/rooms/${roomId}/messages/`, { content, client_msg_id: params.clientMsgId });
    composer.value = "";
    updateCounter();
    receiveMessage(message);
    stopTyping();
  } catch (err) {
    showChatError(err.message);
  }
}

function typingInput() {
  updateCounter();
  const roomId = state.currentRoomId;
  if (!roomId || !state.socket || !state.socket.connected) return;
  const now = Date.now();
  if (now - state.typingSentAt > 2000) {
    state.typingSentAt = now;
    call("rooms.typing", { roomId, typing: true }).catch(() => undefined);
  }
  clearTimeout(state.typingStopTimer);
  state.typingStopTimer = setTimeout(stopTyping, 3000);
}

function stopTyping() {
  clearTimeout(state.typingStopTimer);
  if (!state.typingSentAt || !state.currentRoomId) return;
  state.typingSentAt = 0;
  call("rooms.typing", { roomId: state.currentRoomId, typing: false }).catch(() => undefined);
}

async function startDirect(userId) {
  const room = await api("POST", "/api/rooms/create_direct_chat/", { user_id: userId });
  await loadRooms();
  await openRoom(room.id);
}

/* ---------- session ---------- */

function showApp() {
  $("auth").hidden = true;
  $("chat").hidden = false;
  $("tester").hidden = true;
  $("logout").hidden = false;
  $("whoami").textContent = `Signed in as ${state.user.username}`;
  setTab("chat");
  connectSocket();
  state.onlineTimer = setInterval(() => loadOnline().catch(() => undefined), ONLINE_POLL_MS);
}

function logout() {
  clearTimeout(state.refreshTimer);
  localStorage.removeItem(TOKENS_KEY);
  if (state.socket) state.socket.close();
  location.reload();
}

async function authenticate(path, body) {
  $("auth-error").textContent = "";
  try {
    const result = await api("POST", path, body, false);
    saveTokens(result.access, result.refresh);
    showApp();
  } catch (err) {
    $("auth-error").textContent = err.message;
  }
}

function setTab(name) {
  const chat = name === "chat";
  $("tab-chat").setAttribute("aria-pressed", String(chat));
  $("tab-tester").setAttribute("aria-pressed", String(!chat));
  if (state.user) $("chat").hidden = !chat;
  $("auth").hidden = Boolean(state.user) || !chat;
  $("tester").hidden = chat;
}

/* ---------- tester ---------- */

async function sendRest() {
  const method = $("rest-method").value;
  const bodyText = $("rest-body").value.trim();
  const headers = {};
  if (state.access) headers.authorization = `Bearer ${state.access}`;
  if (bodyText && method !== "GET") headers["content-type"] = "application/json";
  try {
    const res = await fetch($("rest-path").value, {
      method,
      headers,
      body: bodyText && method !== "GET" ? bodyText : undefined,
    });
    const text = await res.text();
    $("rest-status").textContent = String(res.status);
    try {
      $("rest-response").textContent = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      $("rest-response").textContent = text;
    }
  } catch (err) {
    $("rest-status").textContent = "network error";
    $("rest-response").textContent = err.message;
  }
}

function logFrame(direction, text) {
  const li = document.createElement("li");
  li.textContent = `${direction} ${text}`;
  li.dataset.direction = direction === "→" ? "out" : "in";
  $("ws-log").append(li);
}

function connectRawWs() {
  if (state.rawWs) state.rawWs.close();
  const path = $("ws-path").value;
  const separator = path.includes("?") ? "&" : "?";
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}${separator}token=${encodeURIComponent(state.access || "")}`;
  const ws = new WebSocket(url);
  state.rawWs = ws;
  ws.onopen = () => {
    logFrame("•", "open");
    $("ws-send").disabled = false;
    $("ws-disconnect").disabled = false;
  };
  ws.onmessage = (event) => logFrame("←", event.data);
  ws.onclose = (event) => {
    logFrame("•", `closed ${event.code} ${event.reason}`);
    $("ws-send").disabled = true;
    $("ws-disconnect").disabled = true;
  };
}

/* ---------- wiring ---------- */

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    authenticate("/api/token/", { username: $("login-username").value, password: $("login-password").value });
  });
  $("register-form").addEventListener("submit", (event) => {
    event.preventDefault();
    authenticate("/api/register/", {
      username: $("register-username").value,
      password: $("register-password").value,
      password2: $("register-password2").value,
    });
  });
  $("logout").addEventListener("click", logout);
  $("tab-chat").addEventListener("click", () => setTab("chat"));
  $("tab-tester").addEventListener("click", () => setTab("tester"));
  $("new-room-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api("POST", "/api/rooms/", { name: $("new-room-name").value })
      .then(async (room) => {
        $("new-room-name").value = "";
        await loadRooms();
        await openRoom(room.id);
      })
      .catch(showChatErrorFrom);
  });
  $("join-room").addEventListener("click", () =>
    api("POST", `/api/rooms/${state.currentRoomId}/join/`)
      .then(() => loadRooms())
      .then(() => openRoom(state.currentRoomId))
      .catch(showChatErrorFrom),
  );
  $("leave-room").addEventListener("click", () =>
    api("POST", `/api/rooms/${state.currentRoomId}/leave/`)
      .then(() => {
        state.messages.delete(state.currentRoomId);
        state.currentRoomId = null;
        $("room-title").textContent = "Pick a room";
        $("messages").replaceChildren();
        $("members").replaceChildren();
        updateRoomControls();
        return loadRooms();
      })
      .catch(showChatErrorFrom),
  );
  $("composer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  $("composer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  $("composer").addEventListener("input", typingInput);
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < 30) loadOlder().catch(showChatErrorFrom);
  });
  $("rest-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendRest();
  });
  $("ws-connect").addEventListener("click", connectRawWs);
  $("ws-disconnect").addEventListener("click", () => state.rawWs && state.rawWs.close());
  $("ws-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state.rawWs || state.rawWs.readyState !== WebSocket.OPEN) return;
    const text = $("ws-frame").value;
    state.rawWs.send(text);
    logFrame("→", text);
  });
}

async function start() {
  wire();
  const saved = JSON.parse(localStorage.getItem(TOKENS_KEY) || "null");
  if (!saved) return;
  try {
    state.refresh = saved.refresh;
    if (decodeJwt(saved.access).exp * 1000 < Date.now() + 5000) {
      await refreshTokens();
    } else {
      saveTokens(saved.access, saved.refresh);
    }
    showApp();
  } catch {
    localStorage.removeItem(TOKENS_KEY);
  }
}

start();
