//! The shopper's phone: one self-contained HTML page (no external assets) served at `/sandbox/phone`.
//!
//! Paste the QR text (`HTTP://SEQR.SE/R<ref>`, a deep link `SEQR://SEQR.SE/R<ref>`, a sticker
//! `HTTP://SEQR.SE/Q<id>`, a bare invoice reference or a bare sticker id), see the rows and the total,
//! then pay or cancel. The page calls the JSON controls with relative URLs, so it works wherever the
//! controls are mounted.

/// The page.
pub const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Glase sandbox phone</title>
<style>
  body { font-family: system-ui, sans-serif; background: #eef1f4; margin: 0; }
  main { max-width: 380px; margin: 24px auto; background: #fff; border-radius: 24px; padding: 20px;
         box-shadow: 0 4px 18px rgba(0,0,0,.15); }
  h1 { font-size: 1.2em; margin: 0 0 12px; }
  input { width: 100%; box-sizing: border-box; padding: 10px; font-size: 1em; }
  button { padding: 10px 16px; font-size: 1em; margin: 8px 8px 0 0; border-radius: 8px; border: 0; cursor: pointer; }
  #pay { background: #1a7f37; color: #fff; } #cancel { background: #c62828; color: #fff; }
  table { width: 100%; border-collapse: collapse; margin-top: 12px; }
  td { padding: 4px 0; border-bottom: 1px solid #eee; } td.n { text-align: right; }
  .total td { font-weight: bold; border: 0; }
  #status { margin-top: 12px; font-size: .95em; white-space: pre-wrap; }
</style>
</head>
<body>
<main>
  <h1>Glase sandbox phone</h1>
  <label for="code">QR text, invoice reference or sticker id</label>
  <input id="code" placeholder="HTTP://SEQR.SE/R2026...">
  <button id="open">Scan</button>
  <section id="invoice" hidden>
    <h2 id="title"></h2>
    <div id="receiver"></div>
    <table id="rows"></table>
    <button id="pay">Pay</button><button id="cancel">Cancel</button>
  </section>
  <div id="status"></div>
</main>
<script>
"use strict";
let current = null;
const $ = (id) => document.getElementById(id);
function say(text) { $("status").textContent = text; }
function parse(text) {
  const t = text.trim();
  let m = t.match(/^(?:HTTP|HTTPS|SEQR|SEQR-DEMO|SEQR-DEBUG):\/\/SEQR\.SE\/R(\d+)$/i);
  if (m) return { invoice: m[1] };
  m = t.match(/^(?:HTTP|HTTPS|SEQR):\/\/SEQR\.SE\/Q([A-Za-z0-9]+)$/i);
  if (m) return { sticker: m[1] };
  // A bare number may be an invoice reference or a (digits-only) sticker id: try both, invoice first.
  if (/^\d{13,17}$/.test(t)) return { invoice: t, sticker: t };
  if (/^[A-Za-z0-9]+$/.test(t)) return { sticker: t };
  return null;
}
async function call(method, path) {
  const r = await fetch(path, { method });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
  return body;
}
function show(inv) {
  current = inv.invoice_reference;
  $("invoice").hidden = false;
  $("title").textContent = inv.title || "Invoice " + inv.invoice_reference;
  $("receiver").textContent = inv.receiver_name + " · " + inv.status;
  const rows = $("rows");
  rows.replaceChildren();
  for (const row of inv.rows) {
    const tr = rows.insertRow();
    tr.insertCell().textContent = (row.quantity ? row.quantity + " × " : "") + (row.description || "");
    const c = tr.insertCell(); c.className = "n"; c.textContent = (row.total || "") + " " + (row.currency || "");
  }
  const tr = rows.insertRow(); tr.className = "total";
  tr.insertCell().textContent = "Total";
  const c = tr.insertCell(); c.className = "n"; c.textContent = inv.amount + " " + inv.currency;
  const open = inv.status === "ISSUED";
  $("pay").disabled = !open; $("cancel").disabled = !open;
}
$("open").onclick = async () => {
  const code = parse($("code").value);
  if (!code) { say("Not a Glase code."); return; }
  try {
    let reference = code.invoice;
    if (reference) {
      try { await call("GET", "invoices/" + reference); } catch (e) { if (!code.sticker) throw e; reference = null; }
    }
    if (!reference) {
      reference = (await call("GET", "stickers/" + encodeURIComponent(code.sticker))).invoice_reference;
    }
    show((await call("POST", "invoices/" + reference + "/scan")).invoice);
    say("Check the amount, then pay or cancel.");
  } catch (e) { say(e.message); }
};
async function act(action) {
  if (!current) return;
  try {
    const out = await call("POST", "invoices/" + current + "/" + action);
    show(out.invoice);
    say(out.invoice.status + (out.back_url ? "\nThe app would now open: " + out.back_url : ""));
  } catch (e) { say(e.message); }
}
$("pay").onclick = () => act("pay");
$("cancel").onclick = () => act("cancel");
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_self_contained() {
        assert!(super::PAGE.contains("<script>"));
        assert!(!super::PAGE.contains("src=\"http"), "no external scripts");
        assert!(!super::PAGE.contains("href=\"http"), "no external styles");
    }
}
