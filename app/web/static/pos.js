// Cashier page: choose the customer (scanned or typed card, or an explicit "no card"),
// ask the server for a quote, confirm it, and refund from this till's recent receipts.
// Money is shown as the server formats it (`display`); messages come from the page's
// texts (#pos-texts), one per API error code, never the API's English message.
"use strict";

(function () {
  const KEY = "walletpass.terminalKey";
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || "ru";
  let text = {};
  let customer = null;      // {code, view} for a card, {code: null} for "no card", null: not chosen
  let quoted = null;        // the body the shown quote was computed for
  let pending = null;       // {body, receipt_id}: resent unchanged if the network failed
  let refunding = null;     // {receipt, refund_id, amount}
  let stream = null;

  function show(id, visible) { $(id).hidden = !visible; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, name) => (name in values ? values[name] : m));
  }
  function count(n) { return Number(n).toLocaleString(lang); }

  // The page's words for an API refusal (or a network failure), with its figures.
  function explain(error) {
    if (error.network) return text.network;
    const code = error.code || "";
    if (code === "validation_failed" && error.fields) {
      for (const name of Object.keys(error.fields)) {
        if (text["field." + name]) return text["field." + name];
      }
    }
    const template = text["err." + code];
    if (!template) return fill(text.generic, { code: code || error.status || "?" });
    return fill(template, {
      balance: error.balance !== undefined ? count(error.balance) : "",
      maximum: error.maximum !== undefined ? count(error.maximum) : "",
    });
  }

  // An error next to the button that caused it, scrolled above the on-screen keyboard.
  function error(id, message) {
    const el = $(id);
    el.textContent = message || "";
    el.hidden = !message;
    if (message) el.scrollIntoView({ block: "center", behavior: "instant" });
  }
  function clearErrors() {
    for (const id of ["customer-error", "purchase-error", "confirm-error", "refund-error"]) error(id, "");
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + localStorage.getItem(KEY), "Accept-Language": lang };
    let payload;
    if (body instanceof Blob) { payload = body; headers["Content-Type"] = body.type; }
    else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
    } catch (e) {
      throw { network: true };
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { logout(); throw { code: "unauthorized" }; }
    if (!response.ok) throw { status: response.status, ...(data.error || {}) };
    return data;
  }

  // A short id a cashier can read out: the date and 6 unambiguous characters.
  function newId() {
    const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    const bytes = crypto.getRandomValues(new Uint8Array(6));
    const day = new Date().toISOString().slice(2, 10).replace(/-/g, "");
    return day + "-" + Array.from(bytes, (b) => alphabet[b % 32]).join("");
  }

  function parseAmount(raw) {
    const clean = raw.trim().replace(/\s/g, "").replace(",", ".");
    if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(clean)) return null;
    const [whole, frac = ""] = clean.split(".");
    const minor = Number(whole) * 100 + Number((frac + "00").slice(0, 2));
    return minor > 0 ? minor : null;
  }

  async function login(key) {
    localStorage.setItem(KEY, key);
    try {
      const me = await api("GET", "/api/pos/v1/terminal");
      $("terminal-name").textContent = me.brand + " · " + me.name;
      show("login", false); show("till", true); show("logout", true);
      error("login-error", "");
      newCustomer();
      loadReceipts();
    } catch (e) {
      localStorage.removeItem(KEY);
      show("login", true); show("till", false);
      error("login-error", explain(e));
    }
  }

  // Pairing: the console's QR code opens /pos#pair=CODE (a fragment never reaches a
  // server log); the one-time code is traded for this till's key, kept in the browser.
  async function pair(code) {
    error("login-error", text.pairing);
    let data = {};
    try {
      let response;
      try {
        response = await fetch("/api/pos/v1/pair", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept-Language": lang },
          body: JSON.stringify({ code }),
          cache: "no-store",
        });
      } catch (e) {
        throw { network: true };
      }
      data = await response.json().catch(() => ({}));
      if (!response.ok) throw { status: response.status, ...(data.error || {}) };
    } catch (e) {
      show("login", true); show("till", false);
      error("login-error", explain(e));
      return;
    }
    login(data.key);
  }

  function signIn(value) {
    const entered = value.trim();
    if (/^wpt_/.test(entered)) login(entered); else pair(entered);
  }

  function logout() {
    localStorage.removeItem(KEY);
    show("login", true); show("till", false); show("logout", false);
    $("terminal-name").textContent = "";
  }

  // --- the customer ---------------------------------------------------------

  function newCustomer() {
    customer = null; pending = null; quoted = null;
    $("code").value = ""; $("amount").value = ""; $("redeem").value = "0";
    show("customer-step", true); show("card", false); show("no-card-box", false);
    show("purchase-form", false); show("redeem-label", false); show("quote", false); show("result", false);
    clearErrors();
    $("code").focus();
  }

  function chosen() {
    show("customer-step", false); show("purchase-form", true); show("result", false);
    error("customer-error", "");
    $("amount").focus();
  }

  async function lookup(code) {
    code = code.trim();
    if (!code) { error("customer-error", text.emptyCode); return; }
    try {
      const view = await api("GET", "/api/pos/v1/cards/" + encodeURIComponent(code));
      customer = { code, view };
      $("member-name").textContent = view.member_name;
      $("tier").textContent = view.tier_name;
      $("discount").textContent = view.display.discount_percent;
      $("balance").textContent = view.display.balance;
      show("card", true); show("no-card-box", false);
      chosen();
    } catch (e) {
      error("customer-error", explain(e));
    }
  }

  function noCard() {
    customer = { code: null };
    show("card", false); show("no-card-box", true);
    chosen();
  }

  // --- quote, then purchase -------------------------------------------------

  function stale() {
    quoted = null; show("quote", false); show("quote-button", true);
  }

  function purchaseBody() {
    const amount = parseAmount($("amount").value);
    if (!amount) { error("purchase-error", text.badAmount); return null; }
    const body = { amount };
    if (customer.code) body.barcode = customer.code;
    if (!$("redeem-label").hidden) {
      const raw = $("redeem").value.trim() || "0";
      if (!/^[0-9]+$/.test(raw)) { error("purchase-error", text.badPoints); return null; }
      if (Number(raw) > 0) body.redeem_points = Number(raw);
    }
    return body;
  }

  async function quote() {
    error("purchase-error", "");
    const body = purchaseBody();
    if (!body) return;
    $("quote-button").disabled = true;
    try {
      const q = await api("POST", "/api/pos/v1/quotes", body);
      const d = q.display;
      quoted = body;
      $("q-amount").textContent = d.amount;
      $("q-percent").textContent = "(" + d.discount_percent + ")";
      $("q-discount").textContent = "−" + d.discount_amount;
      $("q-points").textContent = q.points_redeemed ? "(" + d.points_redeemed + ")" : "";
      $("q-points-value").textContent = "−" + d.points_value;
      // The points row only when points pay part of it (not "−0,00 ₽").
      for (const id of ["q-points-label", "q-points-value"]) $(id).hidden = !q.points_redeemed;
      $("q-due").textContent = d.amount_due;
      $("q-earned").textContent = d.points_earned;
      $("q-balance-after").textContent = d.balance_after;
      for (const el of document.querySelectorAll("#quote .with-card")) el.hidden = !q.card_number;
      // Points are offered only where the purchase will take them: a scanned card
      // whose balance and the program's share allow at least one point.
      show("redeem-label", q.redeemable_max > 0);
      $("redeem-max").textContent = q.redeemable_max > 0 ? "(" + fill(text.upTo, { max: d.redeemable_max }) + ")" : "";
      show("quote", true); show("quote-button", false); error("confirm-error", "");
      $("confirm").scrollIntoView({ block: "center", behavior: "instant" });
    } catch (e) {
      error("purchase-error", explain(e));
    } finally {
      $("quote-button").disabled = false;
    }
  }

  async function confirm() {
    if (!quoted) return;
    const body = quoted;
    const same = pending && JSON.stringify(pending.body) === JSON.stringify(body);
    pending = { body, receipt_id: same ? pending.receipt_id : newId() };
    $("confirm").disabled = true;
    try {
      const r = await api("POST", "/api/pos/v1/purchases", { receipt_id: pending.receipt_id, ...body });
      pending = null;
      const d = r.display;
      $("r-receipt").textContent = r.receipt_id;
      $("r-discount").textContent = d.discount_amount;
      $("r-redeemed").textContent = r.points_redeemed ? d.points_redeemed + " (" + d.points_value + ")" : "0";
      $("r-due").textContent = d.amount_due;
      $("r-earned").textContent = d.points_earned;
      $("r-balance").textContent = r.balance === null ? "—" : d.balance;
      if (r.balance !== null) $("balance").textContent = d.balance;
      show("purchase-form", false); show("quote", false); show("result", true);
      loadReceipts();
      $("next").focus();
    } catch (e) {
      if (!e.network) pending = null;  // a refused request gets a fresh receipt id next time
      error("confirm-error", explain(e));
    } finally {
      $("confirm").disabled = false;
    }
  }

  // --- recent receipts and refunds -------------------------------------------

  async function loadReceipts() {
    let data;
    try {
      data = await api("GET", "/api/pos/v1/receipts?limit=10");
    } catch (e) { return; }
    const list = $("receipt-list");
    list.replaceChildren();
    if (!data.receipts.length) {
      const empty = document.createElement("li");
      empty.className = "empty"; empty.textContent = text.noReceipts;
      list.append(empty);
    }
    for (const r of data.receipts) {
      const item = document.createElement("li");
      item.dataset.receipt = r.receipt_id;
      const what = document.createElement("span");
      what.className = "what";
      const id = document.createElement("strong");
      id.textContent = r.receipt_id;
      const details = document.createElement("small");
      const left = r.refunded && r.refundable ? " · " + fill(text.left, { amount: r.display.refundable }) : "";
      details.textContent = r.display.created_at.slice(11) + " · " + r.display.amount
        + " · " + (r.card_number || text.noCard) + left;
      what.append(id, details);
      item.append(what);
      if (r.refundable > 0) {
        const button = document.createElement("button");
        button.type = "button"; button.className = "secondary refund-button";
        button.textContent = text.refund;
        button.addEventListener("click", () => startRefund(r));
        item.append(button);
      } else {
        const done = document.createElement("span");
        done.className = "refunded"; done.textContent = text.refundedAll;
        item.append(done);
      }
      list.append(item);
    }
  }

  function startRefund(receipt) {
    refunding = { receipt, refund_id: null, amount: undefined };
    $("refund-receipt").textContent = receipt.receipt_id;
    $("refund-left").textContent = "(" + fill(text.left, { amount: receipt.display.refundable }) + ")";
    $("refund-amount").value = "";
    error("refund-error", "");
    show("refund-form", true); show("refund-result", false);
    $("refund-form").scrollIntoView({ block: "center", behavior: "instant" });
  }

  async function refund() {
    if (!refunding) return;
    const raw = $("refund-amount").value.trim();
    const amount = raw ? parseAmount(raw) : undefined;
    if (raw && !amount) { error("refund-error", text.badAmount); return; }
    if (!refunding.refund_id || refunding.amount !== amount) refunding.refund_id = newId();
    refunding.amount = amount;
    const body = { receipt_id: refunding.receipt.receipt_id, refund_id: refunding.refund_id };
    if (amount) body.amount = amount;
    $("refund-confirm").disabled = true;
    try {
      const r = await api("POST", "/api/pos/v1/refunds", body);
      const d = r.display;
      $("rf-receipt").textContent = r.receipt_id;
      $("rf-money").textContent = d.money_back;
      $("rf-returned").textContent = d.points_returned;
      $("rf-taken").textContent = d.points_taken_back;
      $("rf-balance").textContent = r.balance === null ? "—" : d.balance;
      const card = customer && customer.view;
      if (card && r.balance !== null && refunding.receipt.card_number === card.card_number) {
        $("balance").textContent = d.balance;
      }
      refunding = null;
      show("refund-form", false); show("refund-result", true);
      loadReceipts();
    } catch (e) {
      if (!e.network) refunding.refund_id = null;
      error("refund-error", explain(e));
    } finally {
      $("refund-confirm").disabled = false;
    }
  }

  // --- camera ------------------------------------------------------------------

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { error("customer-error", text.noCamera); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) { error("customer-error", text.noCamera); return; }
    const video = $("camera");
    video.srcObject = stream; show("camera", true); await video.play();
    const detector = "BarcodeDetector" in window ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    const canvas = document.createElement("canvas");
    const tick = async () => {
      if (!stream) return;
      let code = null;
      try {
        if (detector) {
          const found = await detector.detect(video);
          code = found.length ? found[0].rawValue : null;
        } else if (video.videoWidth) {
          canvas.width = video.videoWidth; canvas.height = video.videoHeight;
          canvas.getContext("2d").drawImage(video, 0, 0);
          const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.8));
          code = (await api("POST", $("pos").dataset.decodeUrl, blob)).code;
        }
      } catch (e) { /* keep looking */ }
      if (code) { stopCamera(); $("code").value = code; lookup(code); }
      else setTimeout(tick, detector ? 150 : 500);
    };
    tick();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null; show("camera", false);
  }

  document.addEventListener("DOMContentLoaded", () => {
    text = JSON.parse($("pos-texts").textContent);
    $("login-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("terminal-key").value); });
    $("logout").addEventListener("click", logout);
    // A hardware scanner types the code and presses Enter: the same path as typing.
    $("scan-form").addEventListener("submit", (e) => { e.preventDefault(); lookup($("code").value); });
    $("camera-button").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
    $("no-card").addEventListener("click", noCard);
    for (const b of document.querySelectorAll(".other-customer")) b.addEventListener("click", newCustomer);
    for (const id of ["amount", "redeem"]) $(id).addEventListener("input", stale);
    $("purchase-form").addEventListener("submit", (e) => { e.preventDefault(); quote(); });
    $("confirm").addEventListener("click", confirm);
    $("edit").addEventListener("click", () => { stale(); $("amount").focus(); });
    $("next").addEventListener("click", newCustomer);
    $("refresh-receipts").addEventListener("click", loadReceipts);
    $("refund-form").addEventListener("submit", (e) => { e.preventDefault(); refund(); });
    $("refund-cancel").addEventListener("click", () => { refunding = null; show("refund-form", false); });
    // When the keyboard opens (the viewport shrinks), keep a shown error in sight.
    if (window.visualViewport) {
      window.visualViewport.addEventListener("resize", () => {
        const shown = document.querySelector(".error:not([hidden])");
        if (shown) shown.scrollIntoView({ block: "center", behavior: "instant" });
      });
    }
    const paired = /(?:^#|&)pair=([A-Za-z0-9-]{1,40})/.exec(location.hash);
    if (paired) {
      history.replaceState(null, "", location.pathname + location.search);
      show("login", true);
      pair(paired[1]);
    } else if (localStorage.getItem(KEY)) login(localStorage.getItem(KEY));
    else show("login", true);
  });
})();
