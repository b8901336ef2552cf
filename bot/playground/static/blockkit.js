/* Block Kit to HTML, as Slack shows it: every block and element type, mrkdwn (bold, italic, strike, code, quotes,
 * links, mentions, <!date^…> tokens in the viewer's time zone), button styles and confirm dialogs. Pure: it returns
 * HTML strings and touches no DOM, so the same file runs in the page and under node for the renderer tests.
 *
 * ctx: {users: {U…: name}, channels: {C…: name}, groups: {S…: handle}, timeZone: "Europe/Berlin", now: Date,
 *       errors: {block_id: message}, confirms: [] (filled with the confirm objects buttons refer to)}
 * Interactive elements carry data-kind="action" and data-action (JSON of the action Slack would send).
 * A type this file does not know renders as <div class="bk-unsupported">.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.BlockKit = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const EMOJI = {
    white_check_mark: "✅", x: "❌", warning: "⚠️", hourglass: "⌛", hourglass_flowing_sand: "⏳", lock: "🔒",
    clock3: "🕒", rocket: "🚀", tada: "🎉", no_entry: "⛔", information_source: "ℹ️", test_tube: "🧪",
    calendar: "📅", bell: "🔔", memo: "📝", page_facing_up: "📄", runner: "🏃", black_right_pointing_double_triangle_with_vertical_bar: "⏭️",
  };
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December"];
  const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function unslack(text) {  // Slack's own escapes back to characters
    return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  function attr(value) { return esc(JSON.stringify(value)); }

  // ------------------------------------------------------------------------------------------------- dates

  function parts(date, timeZone) {
    const fmt = new Intl.DateTimeFormat("en-US", {
      timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "2-digit",
      second: "2-digit", hour12: false, weekday: "short",
    });
    const out = {};
    for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
    const hour = Number(out.hour) % 24;
    return { y: Number(out.year), m: Number(out.month), d: Number(out.day), hour, minute: out.minute,
      second: out.second, weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(out.weekday) };
  }
  function ordinal(n) {
    const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] || "th";
    return n + s;
  }
  function clock(p, secs) {
    const h12 = p.hour % 12 === 0 ? 12 : p.hour % 12;
    return `${h12}:${p.minute}${secs ? ":" + p.second : ""} ${p.hour < 12 ? "AM" : "PM"}`;
  }
  function dayNumber(p) { return Date.UTC(p.y, p.m - 1, p.d) / 86400000; }

  function formatDate(seconds, format, ctx) {
    const timeZone = ctx.timeZone || "UTC";
    const date = new Date(seconds * 1000);
    const p = parts(date, timeZone);
    const today = parts(ctx.now || new Date(), timeZone);
    const diff = dayNumber(p) - dayNumber(today);
    const relative = diff === 0 ? "today" : diff === -1 ? "yesterday" : diff === 1 ? "tomorrow" : null;
    const month = MONTHS[p.m - 1];
    const values = {
      date_num: `${p.y}-${String(p.m).padStart(2, "0")}-${String(p.d).padStart(2, "0")}`,
      date: `${month} ${ordinal(p.d)}, ${p.y}`,
      date_short: `${month.slice(0, 3)} ${p.d}, ${p.y}`,
      date_long: `${DAYS[p.weekday]}, ${month} ${ordinal(p.d)}, ${p.y}`,
      time: clock(p, false),
      time_secs: clock(p, true),
    };
    values.date_pretty = relative ? relative[0].toUpperCase() + relative.slice(1) : values.date;
    values.date_short_pretty = relative ? relative[0].toUpperCase() + relative.slice(1) : values.date_short;
    values.date_long_pretty = relative ? relative[0].toUpperCase() + relative.slice(1) : values.date_long;
    const ago = Math.round(((ctx.now || new Date()).getTime() - date.getTime()) / 60000);
    values.ago = ago >= 0 ? (ago < 60 ? `${ago} minutes ago` : `${Math.round(ago / 60)} hours ago`)
      : (-ago < 60 ? `in ${-ago} minutes` : `in ${Math.round(-ago / 60)} hours`);
    return format.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));
  }

  // ------------------------------------------------------------------------------------------------ mrkdwn

  function token(inner, ctx) {
    const [target, label] = splitOnce(inner, "|");
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const name = label || (ctx.users || {})[id] || id;
      return `<span class="bk-mention">@${esc(name)}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      return `<span class="bk-mention">#${esc(label || (ctx.channels || {})[id] || id)}</span>`;
    }
    if (target.startsWith("!subteam^")) {
      const id = target.slice(9);
      const handle = label || "@" + ((ctx.groups || {})[id] || id);
      return `<span class="bk-mention">${esc(handle.startsWith("@") ? handle : "@" + handle)}</span>`;
    }
    if (target.startsWith("!date^")) {
      const bits = target.split("^");
      const seconds = Number(bits[1]);
      if (!Number.isFinite(seconds)) return esc(unslack(label || inner));
      const shown = esc(formatDate(seconds, unslack(bits[2] || "{date_num} {time}"), ctx));
      const title = esc(new Date(seconds * 1000).toISOString());
      return bits[3] ? `<a class="bk-date" title="${title}" href="${esc(bits[3])}">${shown}</a>`
        : `<time class="bk-date" datetime="${title}">${shown}</time>`;
    }
    if (target === "!here" || target === "!channel" || target === "!everyone") {
      return `<span class="bk-mention">@${target.slice(1)}</span>`;
    }
    if (target.startsWith("!")) return esc(unslack(label || target.slice(1)));
    const href = unslack(target);
    if (!/^(https?:|mailto:)/.test(href)) return esc(unslack(label || target));
    return `<a href="${esc(href)}" target="_blank" rel="noreferrer noopener">${esc(unslack(label || target))}</a>`;
  }
  function splitOnce(text, sep) {
    const at = text.indexOf(sep);
    return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
  }

  function styled(text) {  // text is HTML-escaped already
    return text
      .replace(/(^|[\s(>\u00a0\u0002])\*(?!\s)([^*\n]*?[^\s*])\*(?=$|[\s.,;:!?)<'"\u00a0\u0001])/g, "$1<b>$2</b>")
      .replace(/(^|[\s(>\u00a0\u0002])_(?!\s)([^_\n]*?[^\s_])_(?=$|[\s.,;:!?)<'"\u00a0\u0001])/g, "$1<i>$2</i>")
      .replace(/(^|[\s(>\u00a0\u0002])~(?!\s)([^~\n]*?[^\s~])~(?=$|[\s.,;:!?)<'"\u00a0\u0001])/g, "$1<s>$2</s>")
      .replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  }

  function inline(text, ctx) {  // one line of mrkdwn: tokens and code set aside, styles over the whole line
    const kept = [];
    const hold = (html) => { kept.push(html); return `\u0001${kept.length - 1}\u0002`; };
    let out = "";
    const pattern = /`([^`\n]+)`|<([^<>\n]+)>/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      out += esc(unslack(text.slice(last, match.index)));
      out += hold(match[1] !== undefined ? `<code>${esc(unslack(match[1]))}</code>` : token(match[2], ctx));
      last = pattern.lastIndex;
    }
    out = styled(out + esc(unslack(text.slice(last))));
    return out.replace(/\u0001(\d+)\u0002/g, (all, i) => kept[Number(i)]);
  }

  function mrkdwn(text, ctx) {
    const pieces = String(text).split("```");
    let out = "";
    pieces.forEach((piece, i) => {
      if (i % 2 === 1) {
        out += `<pre class="bk-pre">${esc(unslack(piece.replace(/^\n/, "")))}</pre>`;
        return;
      }
      const lines = piece.split("\n");
      const html = [];
      let quote = [];
      const flush = () => {
        if (quote.length) html.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
        quote = [];
      };
      for (const line of lines) {
        const quoted = /^(&gt;|>)\s?/.exec(line);
        if (quoted) quote.push(inline(line.slice(quoted[0].length), ctx));
        else { flush(); html.push(inline(line, ctx)); }
      }
      flush();
      out += html.join("<br>").replace(/<br>(<blockquote>)/g, "$1").replace(/(<\/blockquote>)<br>/g, "$1");
    });
    return out;
  }

  function text(obj, ctx) {
    if (!obj) return "";
    if (typeof obj === "string") return esc(obj);
    if (obj.type === "mrkdwn") return mrkdwn(obj.text || "", ctx);
    const plain = esc(obj.text || "");
    return obj.emoji === false ? plain : plain.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  }
  function plainText(obj) { return obj ? String(obj.text || "") : ""; }

  // ---------------------------------------------------------------------------------------------- elements

  let counter = 0;
  function uid(prefix) { counter += 1; return `${prefix}-${counter}`; }

  function unsupported(kind, what) {
    return `<div class="bk-unsupported">Unsupported ${what}: ${esc(kind)}</div>`;
  }

  function button(el, blockId, ctx) {
    const action = { type: "button", action_id: el.action_id, block_id: blockId, value: el.value,
      text: el.text };
    let confirm = "";
    if (el.confirm) {
      ctx.confirms = ctx.confirms || [];
      ctx.confirms.push(el.confirm);
      confirm = ` data-confirm="${ctx.confirms.length - 1}"`;
    }
    const style = el.style === "primary" || el.style === "danger" ? ` bk-${el.style}` : "";
    const link = el.url ? ` data-url="${esc(el.url)}"` : "";
    const label = el.accessibility_label ? ` aria-label="${esc(el.accessibility_label)}"` : "";
    return `<button type="button" class="bk-button${style}" data-kind="action" data-action="${attr(action)}"` +
      `${confirm}${link}${label}>${text(el.text, ctx)}</button>`;
  }

  function option(opt, ctx) {
    return { label: plainText(opt.text), value: opt.value, description: opt.description ? plainText(opt.description) : "",
      html: text(opt.text, ctx) };
  }

  function select(el, blockId, ctx, field) {
    const multi = el.type.startsWith("multi_");
    const id = field.id || uid("bk-sel");
    const groups = el.option_groups ? el.option_groups : [{ options: el.options || [] }];
    const chosen = new Set((multi ? el.initial_options || [] : el.initial_option ? [el.initial_option] : [])
      .map((o) => o.value));
    let opts = multi ? "" : `<option value="">${esc(plainText(el.placeholder) || "Choose an option")}</option>`;
    for (const group of groups) {
      const inner = (group.options || []).map((o) => {
        const opt = option(o, ctx);
        return `<option value="${esc(opt.value)}"${chosen.has(o.value) ? " selected" : ""}>${esc(opt.label)}</option>`;
      }).join("");
      opts += group.label ? `<optgroup label="${esc(plainText(group.label))}">${inner}</optgroup>` : inner;
    }
    const options = groups.flatMap((g) => g.options || []);
    const meta = { type: el.type, action_id: el.action_id, block_id: blockId, options };
    const label = field.labelled ? "" : ` aria-label="${esc(plainText(el.placeholder) || "Select")}"`;
    const dispatch = field.dispatch ? " data-dispatch" : "";
    return `<select id="${id}" class="bk-select" data-kind="${field.input ? "input" : "action"}"${dispatch}` +
      ` data-element="${attr(meta)}"${multi ? " multiple" : ""}${label}>${opts}</select>`;
  }

  function overflow(el, blockId, ctx) {
    const items = (el.options || []).map((o) => {
      const action = { type: "overflow", action_id: el.action_id, block_id: blockId, selected_option: o };
      return `<button type="button" class="bk-menu-item" data-kind="action" data-action="${attr(action)}">` +
        `${text(o.text, ctx)}</button>`;
    }).join("");
    return `<details class="bk-overflow"><summary aria-label="More actions">⋯</summary>` +
      `<div class="bk-menu">${items}</div></details>`;
  }

  function choices(el, blockId, ctx, field) {
    const radio = el.type === "radio_buttons";
    const name = uid("bk-choice");
    const chosen = new Set((radio ? (el.initial_option ? [el.initial_option] : []) : el.initial_options || [])
      .map((o) => o.value));
    const meta = { type: el.type, action_id: el.action_id, block_id: blockId, options: el.options || [] };
    const items = (el.options || []).map((o) => {
      const id = uid("bk-opt");
      return `<label class="bk-choice" for="${id}"><input id="${id}" type="${radio ? "radio" : "checkbox"}"` +
        ` name="${name}" value="${esc(o.value)}"${chosen.has(o.value) ? " checked" : ""}> ${text(o.text, ctx)}` +
        `${o.description ? `<span class="bk-hint">${text(o.description, ctx)}</span>` : ""}</label>`;
    }).join("");
    return `<div class="bk-choices" data-kind="${field.input ? "input" : "action"}" data-element="${attr(meta)}">` +
      `${items}</div>`;
  }

  function element(el, blockId, ctx, field) {
    field = field || {};
    const id = field.id || uid("bk-in");
    const meta = { type: el.type, action_id: el.action_id, block_id: blockId };
    const placeholder = el.placeholder ? ` placeholder="${esc(plainText(el.placeholder))}"` : "";
    const kind = field.input ? "input" : "action";
    const common = `id="${id}" data-kind="${kind}" data-element="${attr(meta)}"${placeholder}`;
    switch (el.type) {
      case "button": return button(el, blockId, ctx);
      case "static_select": case "multi_static_select": case "external_select": case "multi_external_select":
      case "users_select": case "multi_users_select": case "conversations_select": case "channels_select":
      case "multi_conversations_select": case "multi_channels_select":
        return select(el, blockId, ctx, { ...field, id });
      case "overflow": return overflow(el, blockId, ctx);
      case "checkboxes": case "radio_buttons": return choices(el, blockId, ctx, field);
      case "datepicker":
        return `<input type="date" class="bk-input" ${common} value="${esc(el.initial_date || "")}">`;
      case "timepicker":
        return `<input type="time" class="bk-input" ${common} value="${esc(el.initial_time || "")}">`;
      case "datetimepicker":
        return `<input type="datetime-local" class="bk-input" ${common}>`;
      case "number_input": {
        const bounds = (el.min_value !== undefined ? ` min="${esc(el.min_value)}"` : "") +
          (el.max_value !== undefined ? ` max="${esc(el.max_value)}"` : "");
        return `<input type="number" class="bk-input" ${common}${bounds}` +
          ` step="${el.is_decimal_allowed ? "any" : "1"}" value="${esc(el.initial_value || "")}">`;
      }
      case "plain_text_input": case "email_text_input": case "url_text_input": {
        const max = el.max_length ? ` maxlength="${Number(el.max_length)}"` : "";
        if (el.multiline) {
          return `<textarea class="bk-input" rows="3" ${common}${max}>${esc(el.initial_value || "")}</textarea>`;
        }
        const type = el.type === "email_text_input" ? "email" : el.type === "url_text_input" ? "url" : "text";
        return `<input type="${type}" class="bk-input" ${common}${max} value="${esc(el.initial_value || "")}">`;
      }
      case "file_input":  // a file is attached in Slack itself: the page has no upload of its own
        return `<input type="file" class="bk-input" ${common} disabled>` +
          `<span class="bk-hint">Attach the file in Slack: the playground does not upload files.</span>`;
      case "image":
        return `<span class="bk-image" role="img" aria-label="${esc(el.alt_text || "image")}">🖼</span>`;
      case "mrkdwn": case "plain_text": return `<span class="bk-text">${text(el, ctx)}</span>`;
      default: return unsupported(el.type, "element");
    }
  }

  // ------------------------------------------------------------------------------------------------ blocks

  function richText(elements, ctx) {
    return (elements || []).map((el) => {
      switch (el.type) {
        case "rich_text_section": return `<div>${richInline(el.elements, ctx)}</div>`;
        case "rich_text_preformatted": return `<pre class="bk-pre">${richInline(el.elements, ctx)}</pre>`;
        case "rich_text_quote": return `<blockquote>${richInline(el.elements, ctx)}</blockquote>`;
        case "rich_text_list": {
          const tag = el.style === "ordered" ? "ol" : "ul";
          return `<${tag}>${(el.elements || []).map((item) => `<li>${richInline(item.elements, ctx)}</li>`)
            .join("")}</${tag}>`;
        }
        default: return unsupported(el.type, "rich text element");
      }
    }).join("");
  }
  function richInline(elements, ctx) {
    return (elements || []).map((el) => {
      let html;
      switch (el.type) {
        case "text": html = esc(el.text || ""); break;
        case "link": html = `<a href="${esc(el.url)}" target="_blank" rel="noreferrer noopener">${esc(el.text || el.url)}</a>`; break;
        case "user": html = token("@" + el.user_id, ctx); break;
        case "channel": html = token("#" + el.channel_id, ctx); break;
        case "usergroup": html = token("!subteam^" + el.usergroup_id, ctx); break;
        case "emoji": html = el.unicode ? String.fromCodePoint(...el.unicode.split("-").map((h) => parseInt(h, 16)))
          : (EMOJI[el.name] || `:${esc(el.name)}:`); break;
        case "date": html = token(`!date^${el.timestamp}^${el.format}|${el.fallback || ""}`, ctx); break;
        case "broadcast": html = `<span class="bk-mention">@${esc(el.range)}</span>`; break;
        default: return unsupported(el.type, "rich text element");
      }
      const s = el.style || {};
      if (s.code) html = `<code>${html}</code>`;
      if (s.bold) html = `<b>${html}</b>`;
      if (s.italic) html = `<i>${html}</i>`;
      if (s.strike) html = `<s>${html}</s>`;
      return html;
    }).join("");
  }

  function block(b, ctx) {
    const blockId = b.block_id;
    const bid = blockId ? ` data-block-id="${esc(blockId)}"` : "";
    switch (b.type) {
      case "section": {
        const body = b.text ? `<div class="bk-section-text">${text(b.text, ctx)}</div>` : "";
        const fields = b.fields ? `<div class="bk-fields">${b.fields.map((f) => `<div class="bk-field">${text(f, ctx)}</div>`)
          .join("")}</div>` : "";
        const accessory = b.accessory ? `<div class="bk-accessory">${element(b.accessory, blockId, ctx)}</div>` : "";
        return `<div class="bk-block bk-section"${bid}><div class="bk-section-main">${body}${fields}</div>${accessory}</div>`;
      }
      case "context":
        return `<div class="bk-block bk-context"${bid}>${(b.elements || []).map((el) => element(el, blockId, ctx)).join("")}</div>`;
      case "actions":
        return `<div class="bk-block bk-actions"${bid}>${(b.elements || []).map((el) => element(el, blockId, ctx)).join("")}</div>`;
      case "divider": return `<hr class="bk-block bk-divider"${bid}>`;
      case "header": return `<div class="bk-block bk-header" role="heading" aria-level="3"${bid}>${text(b.text, ctx)}</div>`;
      case "image":
        return `<figure class="bk-block bk-image-block"${bid}>${b.title ? `<figcaption>${text(b.title, ctx)}</figcaption>` : ""}` +
          `<span class="bk-image" role="img" aria-label="${esc(b.alt_text || "image")}">🖼 ${esc(b.alt_text || "")}</span></figure>`;
      case "input": {
        const id = uid("bk-field");
        const error = (ctx.errors || {})[blockId];
        const dispatch = Boolean(b.dispatch_action);
        const labelled = !["checkboxes", "radio_buttons"].includes((b.element || {}).type);
        const label = `<label class="bk-label"${labelled ? ` for="${id}"` : ""}>${text(b.label, ctx)}` +
          `${b.optional ? ' <span class="bk-optional">(optional)</span>' : ""}</label>`;
        const control = element(b.element || {}, blockId, ctx, { input: true, id, labelled, dispatch });
        return `<div class="bk-block bk-input-block${error ? " bk-has-error" : ""}"${bid}>${label}${control}` +
          `${b.hint ? `<div class="bk-hint">${text(b.hint, ctx)}</div>` : ""}` +
          `${error ? `<div class="bk-error" role="alert">${esc(error)}</div>` : ""}</div>`;
      }
      case "rich_text": return `<div class="bk-block bk-rich"${bid}>${richText(b.elements, ctx)}</div>`;
      case "markdown": return `<div class="bk-block bk-markdown"${bid}>${mrkdwn(b.text || "", ctx)}</div>`;
      case "file": return `<div class="bk-block bk-file"${bid}>📄 ${esc(b.external_id || "file")}</div>`;
      case "video": return `<div class="bk-block bk-file"${bid}>🎬 ${text(b.title, ctx)}</div>`;
      default: return unsupported(b.type, "block");
    }
  }

  function renderBlocks(blocks, ctx) {
    return (blocks || []).map((b) => block(b, ctx)).join("");
  }

  function renderMessage(message, ctx) {
    if (message.blocks && message.blocks.length) return renderBlocks(message.blocks, ctx);
    return `<div class="bk-block bk-section"><div class="bk-section-text">${mrkdwn(message.text || "", ctx)}</div></div>`;
  }

  function renderConfirm(confirm, ctx) {
    return { title: plainText(confirm.title) || "Are you sure?", html: text(confirm.text, ctx),
      confirm: plainText(confirm.confirm) || "Yes", deny: plainText(confirm.deny) || "Cancel",
      style: confirm.style === "danger" ? "danger" : "primary" };
  }

  return { renderBlocks, renderMessage, renderConfirm, mrkdwn, text, plainText, formatDate, esc };
});
