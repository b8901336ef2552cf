/* The playground page: follows the Slack simulator's feed and draws what the chosen user would see in Slack
 * (channels, the direct messages with jobgate, the App Home tab, modals), and sends what they do to the page's back
 * end, which signs it as Slack would and posts it to jobgate's /slack/events. */
(function () {
  "use strict";
  const BK = window.BlockKit;
  const BOT = "UJOBGATEBOT";
  const HOME = "HOME";
  const state = {
    people: [], channels: [], user: "UALICE", conv: "CGENERAL", seq: 0,
    lists: new Map(), byKey: new Map(), views: new Map(), stacks: new Map(), homes: new Map(),
    openThreads: new Set(), unread: new Set(),
  };
  const $ = (id) => document.getElementById(id);

  function person(id) { return state.people.find((p) => p.id === id) || { id, name: id, tz: "UTC" }; }
  function dm(user) { return "D" + user.slice(1); }
  function ctx(extra) {
    const users = { [BOT]: "jobgate" };
    for (const p of state.people) users[p.id] = p.name;
    const channels = {};
    for (const c of state.channels) channels[c.id] = c.name;
    return { users, channels, groups: {}, timeZone: person(state.user).tz, now: new Date(), confirms: [], ...extra };
  }
  function visible(m) { return !m.only_for || m.only_for === state.user; }
  function key(channel, ts) { return channel + "|" + ts; }

  // ------------------------------------------------------------------------------------------------- feed

  function apply(e) {
    switch (e.kind) {
      case "message": {
        const m = { ...e, edited: false };
        if (!state.lists.has(e.channel)) state.lists.set(e.channel, []);
        state.lists.get(e.channel).push(m);
        state.byKey.set(key(e.channel, e.ts), m);
        if (e.channel !== currentChannel() && visible(m)) state.unread.add(e.channel);
        break;
      }
      case "update": {
        const m = state.byKey.get(key(e.channel, e.ts));
        if (m) Object.assign(m, { text: e.text, blocks: e.blocks, edited: true });
        break;
      }
      case "delete": {
        const list = state.lists.get(e.channel) || [];
        state.lists.set(e.channel, list.filter((m) => m.ts !== e.ts));
        state.byKey.delete(key(e.channel, e.ts));
        break;
      }
      case "view_open": case "view_push": {
        state.views.set(e.view_id, { user: e.user, view: e.view, errors: {} });
        const stack = e.kind === "view_open" ? [] : (state.stacks.get(e.user) || []);
        stack.push(e.view_id);
        state.stacks.set(e.user, stack);
        return e.user === state.user ? "modal" : null;
      }
      case "view_update": {
        const known = state.views.get(e.view_id);
        if (known) Object.assign(known, { view: e.view, errors: {} });
        return e.user === state.user ? "modal-keep" : null;
      }
      case "view_errors": {
        const known = state.views.get(e.view_id);
        if (known) known.errors = e.errors;
        return e.user === state.user ? "errors" : null;
      }
      case "view_close": {
        const stack = state.stacks.get(e.user) || [];
        state.stacks.set(e.user, e.view_id ? stack.filter((v) => v !== e.view_id) : []);
        return e.user === state.user ? "modal" : null;
      }
      case "home": state.homes.set(e.user, e.view); break;
      default: break;
    }
    return "conv";
  }

  async function follow() {
    let history = true;  // modals opened before the page was loaded are gone, as in a Slack client restarted
    for (;;) {
      try {
        const answer = await fetch(`/playground/api/feed?after=${state.seq}${history ? "&wait=0" : ""}`);
        const { events } = await answer.json();
        const todo = new Set();
        for (const e of events) {
          state.seq = Math.max(state.seq, e.seq);
          const what = apply(e);
          if (what) todo.add(what);
        }
        if (history) { state.stacks.clear(); history = false; }
        if (todo.has("conv")) renderConversation();
        if (todo.has("modal")) renderModal(false);
        else if (todo.has("modal-keep")) renderModal(true);
        else if (todo.has("errors")) showErrors();
      } catch (err) {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- drawing

  function currentChannel() { return state.conv === "DM" ? dm(state.user) : state.conv; }

  function renderSidebar() {
    const link = (conv, label, name) => {
      const classes = [conv === state.conv ? "active" : "", state.unread.has(conv === "DM" ? dm(state.user) : conv) ? "unread" : ""];
      return `<li><a href="#" data-conv="${conv}" class="${classes.join(" ")}" aria-label="${BK.esc(name)}">${label}</a></li>`;
    };
    $("channel-list").innerHTML = state.channels.map((c) => link(c.id, `# ${BK.esc(c.name)}`, c.name)).join("");
    $("app-list").innerHTML = link("DM", "jobgate", "jobgate") + link(HOME, "jobgate · Home", "Home");
    $("user-role").textContent = person(state.user).role + " · " + person(state.user).tz;
  }

  function messageHtml(m, c) {
    const time = BK.formatDate(Number(m.ts), "{time}", c);
    const file = m.file ? `<div class="file-card">📄 <b>${BK.esc(m.file.title || m.file.filename)}</b>` +
      ` <span class="msg-time">${BK.esc(m.file.filename)}</span><pre>${BK.esc(m.file.content)}</pre></div>` : "";
    const body = m.blocks.length || m.text ? BK.renderMessage(m, c) : "";
    return `<article class="msg${m.only_for ? " ephemeral" : ""}" data-channel="${m.channel}" data-ts="${m.ts}">` +
      `<div class="avatar">jg</div><div class="msg-main">` +
      (m.only_for ? '<div class="only-you">👁 Only visible to you</div>' : "") +
      `<div class="msg-head"><span class="msg-author">jobgate</span><span class="app-badge">APP</span>` +
      `<span class="msg-time">${BK.esc(time)}</span>${m.edited ? '<span class="edited">(edited)</span>' : ""}</div>` +
      `${body}${file}${threadHtml(m, c)}</div></article>`;
  }

  function threadHtml(parent, c) {
    if (parent.thread_ts) return "";
    const replies = (state.lists.get(parent.channel) || []).filter((r) => r.thread_ts === parent.ts && visible(r));
    if (!replies.length) return "";
    const k = key(parent.channel, parent.ts);
    const label = replies.length === 1 ? "1 reply" : `${replies.length} replies`;
    return `<details class="thread" data-thread="${BK.esc(k)}"${state.openThreads.has(k) ? " open" : ""}>` +
      `<summary>${label}</summary>${replies.map((r) => messageHtml(r, c)).join("")}</details>`;
  }

  function renderConversation() {
    renderSidebar();
    const c = ctx();
    state.confirms = c.confirms;
    const body = $("conv-body");
    if (state.conv === HOME) {
      $("conv-title").textContent = "jobgate";
      $("conv-sub").textContent = "Home";
      const view = state.homes.get(state.user);
      body.innerHTML = view ? `<div class="home" data-view-id="${BK.esc(view.id)}">${BK.renderBlocks(view.blocks, c)}</div>`
        : '<p class="empty">Opening the Home tab…</p>';
      return;
    }
    const channel = currentChannel();
    state.unread.delete(channel);
    const named = state.channels.find((x) => x.id === channel);
    $("conv-title").textContent = named ? `#${named.name}` : "jobgate";
    $("conv-sub").textContent = named ? "" : `Messages between ${person(state.user).name} and jobgate`;
    const top = (state.lists.get(channel) || []).filter((m) => visible(m) && (!m.thread_ts || m.thread_ts === m.ts));
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    body.innerHTML = top.length ? top.map((m) => messageHtml(m, c)).join("")
      : '<p class="empty">Nothing here yet. Type <code>/jobs help</code> below.</p>';
    if (atBottom) body.scrollTop = body.scrollHeight;
  }

  function topView() {
    const stack = state.stacks.get(state.user) || [];
    return stack.length ? stack[stack.length - 1] : null;
  }

  function renderModal(keepValues) {
    const root = $("modal-root");
    const viewId = topView();
    const kept = keepValues && root.dataset.viewId === viewId ? collectState(root) : null;
    if (!viewId) { root.innerHTML = ""; delete root.dataset.viewId; return; }
    const { view, errors } = state.views.get(viewId);
    const c = ctx({ errors });
    state.modalConfirms = c.confirms;
    const title = BK.plainText(view.title) || "jobgate";
    root.dataset.viewId = viewId;
    root.innerHTML = `<div class="overlay"><div class="modal" role="dialog" aria-modal="true" aria-label="${BK.esc(title)}"` +
      ` data-view-id="${BK.esc(viewId)}"><div class="modal-head"><h2>${BK.esc(title)}</h2>` +
      `<button type="button" class="modal-x" data-modal="close" aria-label="Close">×</button></div>` +
      `<form class="modal-body">${BK.renderBlocks(view.blocks, c)}</form><div class="modal-foot">` +
      `<button type="button" class="bk-button" data-modal="close">${BK.esc(BK.plainText(view.close) || "Cancel")}</button>` +
      (view.submit ? `<button type="button" class="bk-button bk-primary" data-modal="submit">${BK.esc(BK.plainText(view.submit))}</button>` : "") +
      `</div></div></div>`;
    if (kept) restoreState(root, kept);
  }

  function showErrors() {
    const root = $("modal-root");
    const known = state.views.get(root.dataset.viewId || "");
    if (!known) return;
    for (const block of root.querySelectorAll(".bk-input-block")) {
      const message = known.errors[block.dataset.blockId];
      block.classList.toggle("bk-has-error", Boolean(message));
      let box = block.querySelector(".bk-error");
      if (message && !box) {
        box = document.createElement("div");
        box.className = "bk-error";
        box.setAttribute("role", "alert");
        block.appendChild(box);
      }
      if (box) { if (message) box.textContent = message; else box.remove(); }
    }
  }

  // -------------------------------------------------------------------------------------------- view state

  function entryOf(el) {
    const meta = JSON.parse(el.dataset.element);
    const find = (value) => (meta.options || []).find((o) => o.value === value) || null;
    switch (meta.type) {
      case "static_select": case "external_select":
        return [meta, { type: meta.type, selected_option: find(el.value) }];
      case "multi_static_select": case "multi_external_select":
        return [meta, { type: meta.type, selected_options: [...el.selectedOptions].map((o) => find(o.value)).filter(Boolean) }];
      case "checkboxes":
        return [meta, { type: meta.type, selected_options: [...el.querySelectorAll("input:checked")].map((i) => find(i.value)) }];
      case "radio_buttons": {
        const on = el.querySelector("input:checked");
        return [meta, { type: meta.type, selected_option: on ? find(on.value) : null }];
      }
      case "datepicker": return [meta, { type: meta.type, selected_date: el.value || null }];
      case "timepicker": return [meta, { type: meta.type, selected_time: el.value || null }];
      case "file_input": return [meta, { type: meta.type, files: [] }];
      default: return [meta, { type: meta.type, value: el.value === "" ? null : el.value }];
    }
  }

  function collectState(root) {
    const values = {};
    for (const el of root.querySelectorAll('[data-kind="input"]')) {
      const [meta, entry] = entryOf(el);
      values[meta.block_id] = { ...(values[meta.block_id] || {}), [meta.action_id]: entry };
    }
    return values;
  }

  function restoreState(root, values) {  // Slack keeps what was typed in inputs whose block and action IDs stay
    for (const el of root.querySelectorAll('[data-kind="input"]')) {
      const meta = JSON.parse(el.dataset.element);
      const entry = (values[meta.block_id] || {})[meta.action_id];
      if (!entry || entry.type !== meta.type) continue;
      if ("value" in entry && entry.value !== null) el.value = entry.value;
      if (entry.selected_date) el.value = entry.selected_date;
      if (entry.selected_time) el.value = entry.selected_time;
      if (entry.selected_option && el.tagName === "SELECT") el.value = entry.selected_option.value;
      if (entry.selected_options && el.tagName === "SELECT") {
        const chosen = new Set(entry.selected_options.map((o) => o.value));
        for (const o of el.options) o.selected = chosen.has(o.value);
      }
      if (entry.selected_options && el.tagName !== "SELECT") {
        const chosen = new Set(entry.selected_options.map((o) => o.value));
        for (const i of el.querySelectorAll("input")) i.checked = chosen.has(i.value);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ sending

  async function send(path, body) {
    const answer = await fetch(`/playground/api/${path}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: state.user, ...body }),
    });
    const result = await answer.json().catch(() => ({}));
    const problem = result.problem || result.detail;
    if (problem) notice(problem);
    return result;
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(notice.timer);
    notice.timer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function sendAction(el, action) {
    const modal = el.closest("[data-view-id]");
    if (modal) {
      return send("action", { view_id: modal.dataset.viewId, action, state: collectState(modal) });
    }
    const msg = el.closest(".msg");
    return send("action", { channel: msg.dataset.channel, ts: msg.dataset.ts, action });
  }

  function askConfirm(confirm, then) {
    const c = BK.renderConfirm(confirm, ctx());
    const root = $("confirm-root");
    root.innerHTML = `<div class="overlay confirm"><div class="modal" role="dialog" aria-modal="true" aria-label="${BK.esc(c.title)}">` +
      `<div class="modal-head"><h2>${BK.esc(c.title)}</h2></div><div class="modal-body">${c.html}</div>` +
      `<div class="modal-foot"><button type="button" class="bk-button" data-confirm-answer="no">${BK.esc(c.deny)}</button>` +
      `<button type="button" class="bk-button bk-${c.style}" data-confirm-answer="yes">${BK.esc(c.confirm)}</button></div></div></div>`;
    root.onclick = (event) => {
      const answer = event.target.closest("[data-confirm-answer]");
      if (!answer) return;
      root.innerHTML = "";
      if (answer.dataset.confirmAnswer === "yes") then();
    };
  }

  document.addEventListener("click", (event) => {
    const conv = event.target.closest("[data-conv]");
    if (conv) {
      event.preventDefault();
      state.conv = conv.dataset.conv;
      if (state.conv === HOME) send("home", {});
      renderConversation();
      return;
    }
    const thread = event.target.closest("details.thread > summary");
    if (thread) {
      const k = thread.parentElement.dataset.thread;
      if (thread.parentElement.open) state.openThreads.delete(k); else state.openThreads.add(k);
      return;
    }
    const modalButton = event.target.closest("[data-modal]");
    if (modalButton) {
      const viewId = $("modal-root").dataset.viewId;
      if (modalButton.dataset.modal === "submit") send("submit", { view_id: viewId, state: collectState($("modal-root")) });
      else send("close", { view_id: viewId });
      return;
    }
    const el = event.target.closest('button[data-kind="action"]');
    if (!el) return;
    const action = JSON.parse(el.dataset.action);
    if (el.closest(".bk-overflow")) el.closest(".bk-overflow").open = false;
    if (el.dataset.confirm !== undefined) {
      const confirms = el.closest("#modal-root") ? state.modalConfirms : state.confirms;
      askConfirm(confirms[Number(el.dataset.confirm)], () => sendAction(el, action));
    } else {
      sendAction(el, action);
    }
  });

  document.addEventListener("change", (event) => {
    const el = event.target.closest('[data-kind="action"], [data-dispatch]');
    if (!el || el.tagName !== "SELECT") return;
    const [meta, entry] = entryOf(el);
    sendAction(el, { type: meta.type, action_id: meta.action_id, block_id: meta.block_id, ...entry });
  });

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const box = $("message");
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    if (state.conv === HOME) { notice("Type commands in a channel or in the jobgate direct message."); return; }
    send("command", { channel: currentChannel(), text });
  });

  $("user-select").addEventListener("change", (event) => {
    state.user = event.target.value;
    if (state.conv === HOME) send("home", {});
    renderConversation();
    renderModal(false);
  });

  async function start() {
    const answer = await fetch("/playground/api/state");
    const setup = await answer.json();
    state.people = setup.people;
    state.channels = setup.channels;
    $("user-select").innerHTML = state.people.map((p) => `<option value="${p.id}">${BK.esc(p.name)}</option>`).join("");
    $("user-select").value = state.user;
    renderConversation();
    follow();
  }
  start();
})();
