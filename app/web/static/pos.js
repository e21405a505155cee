// Cashier page: scan (camera, hardware scanner or typing), look the card up, record
// the purchase through the POS API with the terminal's key as a Bearer token.
"use strict";

(function () {
  const KEY = "walletpass.terminalKey";
  const $ = (id) => document.getElementById(id);
  const ru = document.documentElement.lang === "ru";
  const text = {
    badKey: ru ? "Ключ не подошёл" : "This key was not accepted",
    noCamera: ru ? "Камера недоступна: введите номер вручную" : "No camera: type the number instead",
    network: ru ? "Нет связи с сервером, попробуйте ещё раз" : "Cannot reach the server, try again",
    badAmount: ru ? "Введите сумму, например 1234.50" : "Enter an amount such as 1234.50",
    upTo: ru ? "до" : "up to",
  };
  let card = null;          // the card found, with the code used to find it
  let pending = null;       // {body, receipt_id}: resent unchanged if the network failed
  let stream = null;

  function show(id, visible) { $(id).hidden = !visible; }
  function message(msg) { $("message").textContent = msg || ""; show("message", !!msg); }
  function money(minor) { return (minor / 100).toFixed(2); }
  function points(n) { return Number(n).toLocaleString(ru ? "ru-RU" : "en-US"); }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + localStorage.getItem(KEY) };
    let payload;
    if (body instanceof Blob) { payload = body; headers["Content-Type"] = body.type; }
    else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
    } catch (e) {
      throw { network: true, message: text.network };
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { logout(); throw { message: text.badKey }; }
    if (!response.ok) { throw (data.error || { message: "HTTP " + response.status }); }
    return data;
  }

  function parseAmount(raw) {
    const clean = raw.trim().replace(/\s/g, "").replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(clean)) return null;
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
      message(""); $("code").focus();
    } catch (e) {
      localStorage.removeItem(KEY);
      show("login", true); show("till", false);
      message(e.message);
    }
  }

  function logout() {
    localStorage.removeItem(KEY);
    show("login", true); show("till", false); show("logout", false);
    $("terminal-name").textContent = "";
  }

  function showCard(view) {
    $("member-name").textContent = view.member_name;
    $("tier").textContent = view.tier_name;
    $("discount").textContent = view.discount_percent + " %";
    $("balance").textContent = points(view.balance);
    show("card", true);
    show("redeem-label", view.balance > 0);
    $("redeem-max").textContent = view.redeemable_max !== undefined
      ? "(" + text.upTo + " " + points(view.redeemable_max) + ")" : "";
  }

  async function lookup(code) {
    code = code.trim();
    if (!code) return;
    const amount = parseAmount($("amount").value);
    const query = amount ? "?amount=" + amount : "";
    try {
      const view = await api("GET", "/api/pos/v1/cards/" + encodeURIComponent(code) + query);
      card = { code, view };
      showCard(view);
      message("");
      $("amount").focus();
    } catch (e) {
      card = null; show("card", false); show("redeem-label", false);
      message(e.message);
    }
  }

  function clearCard() {
    card = null; pending = null;
    $("code").value = ""; show("card", false); show("redeem-label", false);
    $("redeem").value = "0";
  }

  async function record() {
    const amount = parseAmount($("amount").value);
    if (!amount) { message(text.badAmount); return; }
    const body = { amount };
    if (card) body.barcode = card.code;
    const redeem = parseInt($("redeem").value || "0", 10);
    if (card && redeem > 0) body.redeem_points = redeem;
    const same = pending && JSON.stringify(pending.body) === JSON.stringify(body);
    const receiptId = same ? pending.receipt_id
      : (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(16).slice(2));
    pending = { body, receipt_id: receiptId };
    $("record").disabled = true;
    try {
      const result = await api("POST", "/api/pos/v1/purchases", { receipt_id: receiptId, ...body });
      pending = null;
      $("r-discount").textContent = money(result.discount_amount);
      $("r-redeemed").textContent = points(result.points_redeemed);
      $("r-due").textContent = money(result.amount_due);
      $("r-earned").textContent = points(result.points_earned);
      $("r-balance").textContent = result.balance === null ? "—" : points(result.balance);
      if (result.balance !== null) $("balance").textContent = points(result.balance);
      show("purchase-form", false); show("result", true); message("");
    } catch (e) {
      if (!e.network) pending = null;  // a refused request gets a fresh receipt id next time
      message(e.message);
    } finally {
      $("record").disabled = false;
    }
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { message(text.noCamera); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) { message(text.noCamera); return; }
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
    $("login-form").addEventListener("submit", (e) => { e.preventDefault(); login($("terminal-key").value.trim()); });
    $("logout").addEventListener("click", logout);
    // A hardware scanner types the code and presses Enter: the same path as typing.
    $("scan-form").addEventListener("submit", (e) => { e.preventDefault(); lookup($("code").value); });
    $("camera-button").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
    $("clear-card").addEventListener("click", clearCard);
    $("amount").addEventListener("change", () => { if (card) lookup(card.code); });
    $("purchase-form").addEventListener("submit", (e) => { e.preventDefault(); record(); });
    $("next").addEventListener("click", () => {
      clearCard(); $("amount").value = ""; show("result", false); show("purchase-form", true); $("code").focus();
    });
    if (localStorage.getItem(KEY)) login(localStorage.getItem(KEY)); else show("login", true);
  });
})();
