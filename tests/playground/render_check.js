// Renders Slack payloads with the playground's Block Kit renderer and reports what it could not show.
// stdin: a JSON array of {method, params} (Web API calls and acks as jobgate sent them); stdout: a JSON array with,
// per payload, the types it does not support and the words of its texts missing from what it rendered.
"use strict";
const path = require("path");
const BK = require(path.join(__dirname, "..", "..", "bot", "playground", "static", "blockkit.js"));

function textContent(html) {
  return html.replace(/<[^>]*>/g, " ").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}

function texts(node, found, inConfirm) {  // every text object a person reads, outside confirm dialogs
  if (Array.isArray(node)) { node.forEach((n) => texts(n, found, inConfirm)); return found; }
  if (!node || typeof node !== "object") return found;
  if ((node.type === "mrkdwn" || node.type === "plain_text") && typeof node.text === "string" && !inConfirm) {
    found.push(node.text);
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === "text" && typeof v === "string") continue;
    texts(v, found, inConfirm || k === "confirm");
  }
  return found;
}

function words(text) {
  const bare = text.replace(/<[^<>]*>/g, " ").replace(/:[a-z0-9_+-]+:/g, " ").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return bare.match(/[A-Za-z0-9]{3,}/g) || [];
}

function check(item) {
  const params = item.params || {};
  let view = params.view;
  if (typeof view === "string") view = JSON.parse(view);
  let blocks = view ? view.blocks : params.blocks;
  if (typeof blocks === "string") blocks = JSON.parse(blocks);
  const ctx = { users: {}, channels: {}, groups: {}, timeZone: "Europe/Berlin", now: new Date(), confirms: [] };
  const html = blocks && blocks.length ? BK.renderBlocks(blocks, ctx)
    : BK.renderMessage({ text: params.text || "", blocks: [] }, ctx);
  const confirms = ctx.confirms.map((c) => BK.renderConfirm(c, ctx));
  const shown = textContent(html) + " " + confirms.map((c) => `${c.title} ${textContent(c.html)} ${c.confirm} ${c.deny}`).join(" ");
  const wanted = blocks && blocks.length ? texts(blocks, [], false) : [String(params.text || "")];
  const confirmTexts = [];
  (function collect(node) {
    if (Array.isArray(node)) { node.forEach(collect); return; }
    if (!node || typeof node !== "object") return;
    if (node.confirm && typeof node.confirm === "object") confirmTexts.push(...texts([node.confirm.title, node.confirm.text, node.confirm.confirm, node.confirm.deny], [], false));
    Object.values(node).forEach(collect);
  })(blocks || []);
  const missing = [...new Set([...wanted, ...confirmTexts].flatMap(words))].filter((w) => !shown.includes(w));
  const unsupported = [...html.matchAll(/Unsupported [a-z ]+: ([a-z_]+)/g)].map((m) => m[1]);
  return { method: item.method, unsupported, missing, blocks: (blocks || []).length };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const items = JSON.parse(input);
  process.stdout.write(JSON.stringify(items.map(check)));
});
