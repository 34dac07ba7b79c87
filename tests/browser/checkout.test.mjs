// The checkout widget in a real Chromium against the local stack: the desktop flow (QR code, paid with
// the Glase reference), the mobile flow (app link, backURL page), the polling fallback when WebSocket is
// unavailable, and a shopper who cancels. Screenshots of every end state go to tests/artifacts/.
//
// The topology of AWS, where the shop's page and the API have different origins, has its own tests: a
// small page server on two more loopback ports stands in for shops, the local stack is started with the
// first one as its widget origin (the CORS rules it answers with are the ones the template deploys), and
// the widget embedded there must show the payment and follow it to paid, while on the second one the
// browser must refuse to let it read the payment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const artifacts = join(root, "tests", "artifacts");
mkdirSync(artifacts, { recursive: true });
const binary = process.env.GLASE_LOCAL_BIN || join(root, "target", "debug", "glase-local");

let stack;
let base;
let apiKey;
let browser;
let dataDir;
// Shop pages on origins other than the API's: `allowedShop` is the stack's widget origin, `otherShop` not.
let allowedShop;
let otherShop;
const shopPages = new Map();

// A page server on a loopback port of its own: answers the pages put into `shopPages`, by path.
async function startShop() {
  const server = createServer((req, res) => {
    const html = shopPages.get(new URL(req.url, "http://x").pathname);
    res.writeHead(html ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
    res.end(html || "not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

before(async () => {
  allowedShop = await startShop();
  otherShop = await startShop();
  dataDir = mkdtempSync(join(tmpdir(), "glase-browser-"));
  stack = spawn(binary, ["--port", "0", "--data-dir", dataDir, "--widget-origin", allowedShop.origin], {
    env: { ...process.env, RUST_LOG: "warn", GLASE_API_KEY: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  [base, apiKey] = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error("glase-local did not start: " + seen)), 30000);
    stack.stdout.on("data", (chunk) => {
      seen += chunk.toString();
      const m = seen.match(/glase-local listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const key = seen.match(/API key +(\S+)/);
      if (m && key) { clearTimeout(timer); resolve([m[1], key[1]]); }
    });
    stack.on("exit", (code) => reject(new Error("glase-local exited with " + code)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (stack) stack.kill("SIGTERM");
  for (const shop of [allowedShop, otherShop]) if (shop) shop.server.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function checkout(page) {
  await page.goto(base + "/shop/");
  await page.click("#pay");
  await page.waitForSelector(".glase-checkout");
}

async function sandbox(action, reference) {
  const r = await fetch(`${base}/sandbox/invoices/${reference}/${action}`, { method: "POST" });
  assert.equal(r.status, 200, `${action} in the sandbox`);
  return r.json();
}

async function referenceOf(page) {
  const text = await page.locator(".glase-qr-text").textContent();
  assert.match(text, /^HTTP:\/\/SEQR\.SE\/R\d+$/);
  return text.slice("HTTP://SEQR.SE/R".length);
}

test("desktop: the QR code is shown and the page turns paid with the Glase reference", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await checkout(page);
  const qr = page.locator("img.glase-qr");
  await qr.waitFor();
  const src = await qr.getAttribute("src");
  assert.match(src, /\/qr\.svg\?client_secret=/);
  // The element is there before its image has loaded; `complete` is also true for a broken image.
  await page.waitForFunction(() => document.querySelector("img.glase-qr").complete);
  assert.ok(await page.evaluate(() => document.querySelector("img.glase-qr").naturalWidth > 0), "the QR renders");
  await page.screenshot({ path: join(artifacts, "desktop-pending.png") });
  await sandbox("pay", await referenceOf(page));
  await page.waitForSelector(".glase-paid", { timeout: 20000 });
  const ers = await page.locator(".glase-ers-reference").textContent();
  assert.match(ers, /^\d{25}$/);
  assert.equal(await page.locator("#glase-checkout").getAttribute("data-transport"), "websocket");
  await page.screenshot({ path: join(artifacts, "desktop-paid.png") });
  await page.close();
});

test("mobile: the app link is shown and the backURL page shows the outcome", async () => {
  const context = await browser.newContext({
    userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    viewport: { width: 390, height: 844 },
  });
  const page = await context.newPage();
  await checkout(page);
  const link = page.locator("a.glase-app-link");
  await link.waitFor();
  const href = await link.getAttribute("href");
  assert.match(href, /^SEQR:\/\/SEQR\.SE\/R\d+$/);
  await page.screenshot({ path: join(artifacts, "mobile-pending.png") });
  const paid = await sandbox("pay", href.slice("SEQR://SEQR.SE/R".length));
  assert.ok(paid.back_url, "the app opens the shop's backURL");
  await page.goto(paid.back_url);
  await page.waitForSelector("[data-status=paid]", { timeout: 20000 });
  assert.match(await page.locator(".glase-ers-reference").textContent(), /^\d{25}$/);
  await page.screenshot({ path: join(artifacts, "mobile-back-url.png") });
  await context.close();
});

test("without WebSocket the widget polls and still finishes", async () => {
  const page = await browser.newPage();
  await page.addInitScript(() => { delete window.WebSocket; });
  await checkout(page);
  await page.waitForSelector("#glase-checkout[data-transport=polling]");
  await sandbox("pay", await referenceOf(page));
  await page.waitForSelector(".glase-paid", { timeout: 20000 });
  await page.screenshot({ path: join(artifacts, "polling-paid.png") });
  await page.close();
});

test("a shopper who cancels sees it and can try again", async () => {
  const page = await browser.newPage();
  await checkout(page);
  await sandbox("cancel", await referenceOf(page));
  await page.waitForSelector(".glase-canceled", { timeout: 25000 });
  await page.locator("button.glase-retry").waitFor();
  await page.screenshot({ path: join(artifacts, "canceled.png") });
  await page.click("button.glase-retry");
  await page.waitForURL(/\/shop\/$/);
  await page.close();
});

test("a person pays from the sandbox phone in a second tab (the README's demo)", async () => {
  const context = await browser.newContext();
  const shop = await context.newPage();
  await checkout(shop);
  const qrText = await shop.locator(".glase-qr-text").textContent();
  const phone = await context.newPage();
  await phone.goto(base + "/sandbox/phone");
  await phone.fill("#code", qrText);
  await phone.click("#open");
  await phone.locator("#invoice").waitFor();
  await phone.click("#pay");
  await shop.bringToFront();
  await shop.waitForSelector(".glase-paid", { timeout: 20000 });
  await phone.screenshot({ path: join(artifacts, "sandbox-phone.png") });
  await context.close();
});

// A payment created by the merchant's backend, and a page on `shop` that embeds the widget for it the way
// the README says a shop does in AWS: the script and the API from the API's origin.
async function crossOriginCheckout(shop, name) {
  const r = await fetch(`${base}/v1/payments`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      order_id: `cors-${name}-${Date.now()}`, currency: "SEK", total: 2500,
      rows: [{ description: "Tea", total: 2500 }],
    }),
  });
  assert.equal(r.status, 201, "the payment is created");
  const payment = await r.json();
  shopPages.set(`/${name}.html`, `<!doctype html><title>Shop</title><div id="glase-checkout"></div>
<script src="${base}/widget/glase-checkout.js" data-target="glase-checkout" data-api-base="${base}"
  data-payment-id="${payment.id}" data-client-secret="${payment.client_secret}" data-amount="25.00 SEK"></script>`);
  return { url: `${shop.origin}/${name}.html`, payment };
}

test("a shop on another origin than the API shows the QR code and follows the payment to paid", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  // Without WebSocket every status read is a cross-origin fetch with X-Client-Secret (a preflight).
  await page.addInitScript(() => { delete window.WebSocket; });
  const { url, payment } = await crossOriginCheckout(allowedShop, "allowed");
  assert.notEqual(new URL(url).origin, new URL(base).origin);
  await page.goto(url);
  const qr = page.locator("img.glase-qr");
  await qr.waitFor({ timeout: 10000 });
  await page.waitForFunction(() => document.querySelector("img.glase-qr").complete);
  assert.ok(await page.evaluate(() => document.querySelector("img.glase-qr").naturalWidth > 0), "the QR renders");
  assert.equal(await page.locator(".glase-error").count(), 0, "no error is shown");
  assert.equal(await page.locator(".glase-qr-text").textContent(), payment.qr_code_url);
  await page.screenshot({ path: join(artifacts, "cross-origin-pending.png") });
  await sandbox("pay", await referenceOf(page));
  await page.waitForSelector(".glase-paid", { timeout: 20000 });
  assert.match(await page.locator(".glase-ers-reference").textContent(), /^\d{25}$/);
  await page.close();
});

test("a shop on an origin the API was not deployed for cannot read the payment", async () => {
  const page = await browser.newPage();
  await page.addInitScript(() => { delete window.WebSocket; });
  const { url } = await crossOriginCheckout(otherShop, "other");
  await page.goto(url);
  await page.waitForSelector(".glase-error", { timeout: 10000 });
  assert.equal(await page.locator(".glase-checkout").count(), 0, "nothing of the payment is shown");
  await page.close();
});
