// The checkout widget in a real Chromium against the local stack: the desktop flow (QR code, paid with
// the Glase reference), the mobile flow (app link, backURL page), the polling fallback when WebSocket is
// unavailable, and a shopper who cancels. Screenshots of every end state go to tests/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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
let browser;
let dataDir;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "glase-browser-"));
  stack = spawn(binary, ["--port", "0", "--data-dir", dataDir], {
    env: { ...process.env, RUST_LOG: "warn", GLASE_API_KEY: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  base = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error("glase-local did not start: " + seen)), 30000);
    stack.stdout.on("data", (chunk) => {
      seen += chunk.toString();
      const m = seen.match(/glase-local listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
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
