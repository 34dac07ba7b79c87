/*
 * Glase checkout widget. One script, no build step, no third-party service.
 *
 * The API serves it at /widget/glase-checkout.js (in AWS: the stack's HttpApiUrl output, or the custom
 * domain in front of it). Embed it where the payment should appear:
 *
 *   <div id="glase-checkout"></div>
 *   <script src="https://pay.example/widget/glase-checkout.js"
 *           data-target="glase-checkout"
 *           data-api-base="https://pay.example"
 *           data-payment-id="pay_…"
 *           data-client-secret="…"
 *           data-amount="125.50 SEK"
 *           data-receipt-url="https://shop.example/receipt"   (optional)
 *           data-retry-url="https://shop.example/checkout"     (optional)
 *           data-websocket-url="wss://…"                       (optional; default: data-api-base /v1/ws;
 *                                                                in AWS the WebSocketUrl output)
 *           data-lang="sv"></script>                           (optional; default: the browser's)
 *
 * On a desktop it shows the payment's QR code (an SVG this backend renders) to scan with the Glase app; on
 * a phone it shows a "press to pay" link that opens the app. It learns the outcome over a WebSocket and
 * falls back to polling the payment once a second when the socket fails. Paid: it shows the receipt
 * (amount and Glase reference) or goes to `data-receipt-url`. Canceled or failed: it says so and offers to
 * try again.
 *
 * Embedded on the shop's own origin it reads the payment cross-origin: it sends `X-Client-Secret` (and the
 * safelisted `Accept`), which the API's CORS configuration allows for the origins it is deployed with.
 */
(function () {
  "use strict";

  var TEXTS = {
    en: {
      scan: "Scan with the Glase app to pay",
      press: "Press to pay with Glase",
      waiting: "Waiting for your payment…",
      paid: "Paid. Thank you!",
      reference: "Glase reference",
      amount: "Amount",
      canceled: "The payment was canceled.",
      failed: "The payment failed.",
      retry: "Try again",
      error: "We cannot reach the payment service right now. We keep trying…"
    },
    sv: {
      scan: "Skanna med Glase-appen för att betala",
      press: "Tryck för att betala med Glase",
      waiting: "Väntar på din betalning…",
      paid: "Betalt. Tack!",
      reference: "Glase-referens",
      amount: "Belopp",
      canceled: "Betalningen avbröts.",
      failed: "Betalningen misslyckades.",
      retry: "Försök igen",
      error: "Vi når inte betaltjänsten just nu. Vi fortsätter försöka…"
    }
  };

  var script = document.currentScript;
  if (!script) { return; }
  var cfg = script.dataset;
  var apiBase = (cfg.apiBase || window.location.origin).replace(/\/+$/, "");
  var paymentId = cfg.paymentId;
  var secret = cfg.clientSecret;
  var target = document.getElementById(cfg.target || "glase-checkout");
  if (!target || !paymentId || !secret) { return; }

  var lang = (cfg.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var t = TEXTS[lang] || TEXTS.en;
  var mobile = /Android|iPhone|iPad|iPod|IEMobile|Mobile/i.test(navigator.userAgent);
  var finished = false;
  var pollTimer = null;
  var socket = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function render(payment) {
    target.innerHTML = "";
    var box = el("div", { "class": "glase-checkout", "data-status": payment.status });
    if (payment.status === "paid") {
      box.appendChild(el("p", { "class": "glase-paid" }, t.paid));
      var dl = el("dl", { "class": "glase-receipt" });
      dl.appendChild(el("dt", {}, t.amount));
      dl.appendChild(el("dd", { "class": "glase-amount" }, cfg.amount || ""));
      dl.appendChild(el("dt", {}, t.reference));
      dl.appendChild(el("dd", { "class": "glase-ers-reference" }, payment.ers_reference || ""));
      box.appendChild(dl);
      if (cfg.receiptUrl) {
        var sep = cfg.receiptUrl.indexOf("?") < 0 ? "?" : "&";
        window.location.assign(cfg.receiptUrl + sep + "payment_id=" + encodeURIComponent(paymentId));
      }
    } else if (payment.status === "canceled" || payment.status === "failed") {
      box.appendChild(el("p", { "class": "glase-" + payment.status },
        payment.status === "canceled" ? t.canceled : t.failed));
      var retry = el("button", { "type": "button", "class": "glase-retry" }, t.retry);
      retry.addEventListener("click", function () {
        if (cfg.retryUrl) { window.location.assign(cfg.retryUrl); } else { window.location.reload(); }
      });
      box.appendChild(retry);
    } else if (mobile) {
      var link = el("a", { "class": "glase-app-link", "href": payment.app_url }, t.press);
      box.appendChild(link);
      box.appendChild(el("p", { "class": "glase-waiting" }, t.waiting));
    } else {
      var img = el("img", {
        "class": "glase-qr",
        "alt": payment.qr_code_url || "QR",
        "width": "220",
        "height": "220",
        "src": apiBase + "/v1/payments/" + encodeURIComponent(paymentId) + "/qr.svg?client_secret=" +
          encodeURIComponent(secret)
      });
      box.appendChild(img);
      box.appendChild(el("p", { "class": "glase-scan" }, t.scan));
      box.appendChild(el("p", { "class": "glase-qr-text" }, payment.qr_code_url || ""));
      box.appendChild(el("p", { "class": "glase-waiting" }, t.waiting));
    }
    target.appendChild(box);
  }

  function showError() {
    if (!target.querySelector(".glase-error")) {
      target.appendChild(el("p", { "class": "glase-error" }, t.error));
    }
  }

  var current = null;
  function update(payment) {
    var changed = !current || current.status !== payment.status;
    current = Object.assign({}, current || {}, payment);
    if (changed) { render(current); }
    if (payment.status !== "pending") {
      finished = true;
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      if (socket) { try { socket.close(); } catch (e) { /* already closed */ } }
    }
  }

  function fetchPayment() {
    return fetch(apiBase + "/v1/payments/" + encodeURIComponent(paymentId), {
      headers: { "X-Client-Secret": secret, "Accept": "application/json" },
      cache: "no-store"
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function poll() {
    if (finished) { return; }
    fetchPayment().then(update).catch(showError);
  }

  function startPolling() {
    if (finished || pollTimer) { return; }
    target.setAttribute("data-transport", "polling");
    pollTimer = setInterval(poll, 1000);
    poll();
  }

  function startSocket() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var url = cfg.websocketUrl;
    if (!url) {
      var u = new URL(apiBase + "/v1/ws");
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      url = u.toString();
    }
    url += (url.indexOf("?") < 0 ? "?" : "&") + "payment_id=" + encodeURIComponent(paymentId) +
      "&client_secret=" + encodeURIComponent(secret);
    try {
      socket = new WebSocket(url);
    } catch (e) {
      startPolling();
      return;
    }
    // A socket that has not opened within three seconds is treated as failed.
    var opened = false;
    var openTimer = setTimeout(function () { if (!opened) { startPolling(); } }, 3000);
    socket.onopen = function () {
      opened = true;
      clearTimeout(openTimer);
      target.setAttribute("data-transport", "websocket");
      // Ask for the current status: the payment may have finished before the socket opened.
      socket.send(JSON.stringify({ action: "sync", payment_id: paymentId }));
    };
    socket.onmessage = function (event) {
      try {
        var msg = JSON.parse(event.data);
        if (msg.type === "status" && msg.payment_id === paymentId) {
          update({ status: msg.status, ers_reference: msg.ers_reference });
        }
      } catch (e) { /* ignore a malformed message */ }
    };
    socket.onerror = function () { startPolling(); };
    socket.onclose = function () { if (!finished) { startPolling(); } };
  }

  fetchPayment().then(function (payment) {
    update(payment);
    if (!finished) { startSocket(); }
  }).catch(function () {
    showError();
    startPolling();
  });
})();
