// tandem.js performs the WebAuthn ceremonies that Kratos' flows describe.
// It replaces Kratos' own webauthn.js: no eval-style onclick strings, no
// inline script, and one function, chooseOptions, where Tandem decides
// which options the browser is really asked for.
//
// The page embeds its ceremonies as JSON (#tandem-data): for each, the
// options Kratos issued and the form field Kratos reads the answer from.
// Every word the script shows comes from the page too (#tandem-text, the
// catalog's js.* keys in the page's language).
//
// The page works without this script: it arrives with the passkey
// buttons hidden and the other ways to sign in open. The script shows the
// passkey first when the browser can use one.
(function () {
  "use strict";

  var dataEl = document.getElementById("tandem-data");
  var form = document.querySelector("form[data-flow]");
  if (!dataEl || !form) return;
  var page = JSON.parse(dataEl.textContent || "{}");
  var textEl = document.getElementById("tandem-text");
  var words = textEl ? JSON.parse(textEl.textContent || "{}") : {};
  function t(key) { return words[key] || ""; }
  var api = page.api || "/api";
  var ceremonies = page.ceremonies || {};
  // loginPlan is the CDA login plan (login pages): autofill, passkey_button,
  // identifier_first or password_or_code. It is revised once the page knows
  // what this browser can do, and narrowed once the user gives an e-mail.
  var loginPlan = page.login || null;

  // A passkey prompt that nobody answers would otherwise hang for Kratos'
  // full 300 s timeout: a mismatched attachment fails silently.
  var CEREMONY_TIMEOUT_MS = 120000;

  var webauthn = !!(window.PublicKeyCredential && navigator.credentials &&
    navigator.credentials.create && navigator.credentials.get);

  // ---- WebAuthn Signal API (the settings page) ---------------------------

  // tellProvider tells the browser's passkey provider (the phone, a
  // password manager) which of this account's passkeys the site still
  // accepts, and which it has removed, so that it stops offering those.
  // Browsers without the Signal API skip it; it never holds up the page.
  function tellProvider(sig) {
    if (!sig || !sig.rpId || !window.PublicKeyCredential) return;
    var PKC = window.PublicKeyCredential;
    (sig.unknown || []).forEach(function (id) {
      if (typeof PKC.signalUnknownCredential !== "function") return;
      try {
        Promise.resolve(PKC.signalUnknownCredential({ rpId: sig.rpId, credentialId: id })).catch(function () {});
      } catch (e) { /* not supported here */ }
    });
    if (sig.userId && typeof PKC.signalAllAcceptedCredentials === "function") {
      try {
        Promise.resolve(PKC.signalAllAcceptedCredentials({ rpId: sig.rpId, userId: sig.userId,
          allAcceptedCredentialIds: sig.accepted || [] })).catch(function () {});
      } catch (e) { /* not supported here */ }
    }
  }
  tellProvider(page.signal);

  // ---- base64url <-> bytes ----------------------------------------------

  function decode(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function encode(buf) {
    if (!buf) return "";
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function clone(o) { return JSON.parse(JSON.stringify(o)); }

  // ---- the one place options are chosen ---------------------------------

  // chooseOptions takes the options Kratos issued for a ceremony (JSON, ids
  // as base64url) and returns the options to use. It applies the server's
  // plan for this device (ceremony.plan: attachment, hints, allowed
  // credentials) and the user's explicit choice, if any (choice.plan, e.g.
  // "use this computer instead"). Kratos checks challenge, origin and RP id,
  // never attachment or hints, so these rewrites are safe; see
  // KRATOS-NOTES §5.
  function chooseOptions(ceremony, publicKey, choice) {
    var o = clone(publicKey);
    var plan = (choice && ceremony.choices && ceremony.choices[choice]) || ceremony.plan || {};
    if (o.user !== undefined) {
      // Registration.
      o.authenticatorSelection = o.authenticatorSelection || {};
      if (plan.attachment === "none") {
        delete o.authenticatorSelection.authenticatorAttachment;
      } else if (plan.attachment) {
        o.authenticatorSelection.authenticatorAttachment = plan.attachment;
      }
      if (plan.hints) o.hints = plan.hints.slice();
      if (plan.excludeCredentials) o.excludeCredentials = clone(plan.excludeCredentials);
    } else {
      // Login.
      if (plan.hints) o.hints = plan.hints.slice();
      if (plan.allowCredentials) o.allowCredentials = clone(plan.allowCredentials);
    }
    if (!o.timeout || o.timeout > CEREMONY_TIMEOUT_MS) o.timeout = CEREMONY_TIMEOUT_MS;
    return o;
  }

  // ---- JSON <-> WebAuthn API shapes --------------------------------------

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type || "public-key", id: decode(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }

  function toCreate(o) {
    var pk = clone(o);
    pk.challenge = decode(o.challenge);
    pk.user.id = decode(o.user.id);
    if (o.excludeCredentials) pk.excludeCredentials = descriptors(o.excludeCredentials);
    return pk;
  }

  function toGet(o) {
    var pk = clone(o);
    pk.challenge = decode(o.challenge);
    if (o.allowCredentials) pk.allowCredentials = descriptors(o.allowCredentials);
    return pk;
  }

  // The answer in the shape Kratos reads: base64url fields, userHandle ""
  // when the authenticator gives none (as Kratos' webauthn.js sends it).
  function attestationJSON(cred) {
    return JSON.stringify({
      id: cred.id, rawId: encode(cred.rawId), type: cred.type,
      response: {
        attestationObject: encode(cred.response.attestationObject),
        clientDataJSON: encode(cred.response.clientDataJSON)
      }
    });
  }

  function assertionJSON(cred) {
    return JSON.stringify({
      id: cred.id, rawId: encode(cred.rawId), type: cred.type,
      response: {
        authenticatorData: encode(cred.response.authenticatorData),
        clientDataJSON: encode(cred.response.clientDataJSON),
        signature: encode(cred.response.signature),
        userHandle: encode(cred.response.userHandle)
      }
    });
  }

  // ---- what the browser can do, and what it did ---------------------------

  // capabilities are probed once per page; unknown stays null. Chromium
  // reports hybridTransport false even where hybrid works, so only a true
  // is believed (KRATOS-NOTES §11).
  var capabilities = { webauthn: webauthn, platform_authenticator: null, conditional_mediation: null, hybrid_transport: null };
  var probed = (async function () {
    if (!webauthn) return;
    try {
      capabilities.platform_authenticator = await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
    } catch (e) { /* unknown */ }
    try {
      if (PublicKeyCredential.isConditionalMediationAvailable) {
        capabilities.conditional_mediation = await PublicKeyCredential.isConditionalMediationAvailable();
      }
    } catch (e) { /* unknown */ }
    try {
      if (PublicKeyCredential.getClientCapabilities) {
        var cc = await PublicKeyCredential.getClientCapabilities();
        if (cc && cc.hybridTransport === true) capabilities.hybrid_transport = true;
      }
    } catch (e) { /* unknown */ }
  })();

  function nonce() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return encode(b);
  }

  // report tells Tandem what the browser said about the ceremony (Kratos
  // never learns the attachment or the transports): posted to the UI,
  // keyed by flow and device, and copied into transient_payload, which
  // Kratos hands to its web hooks. Neither may hold up the sign-in.
  async function report(kind, cred) {
    await probed;
    var r = { ceremony: kind, credential_id: cred.id, capabilities: capabilities, nonce: nonce() };
    if (cred.authenticatorAttachment) r.attachment = cred.authenticatorAttachment;
    if (cred.response && typeof cred.response.getTransports === "function") {
      try { r.transports = cred.response.getTransports(); } catch (e) { /* none */ }
    }
    var tp = field("transient_payload");
    if (!tp) {
      tp = document.createElement("input");
      tp.type = "hidden";
      tp.name = "transient_payload";
      form.appendChild(tp);
    }
    tp.value = JSON.stringify({ tandem: r });
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 3000);
    try {
      await fetch(api + "/observe", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ flow_id: page.flowId, report: r }),
        signal: ctl.signal
      });
    } catch (e) {
      // The hook still has transient_payload.
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- page state ---------------------------------------------------------

  var statusEl = form.querySelector("[data-ceremony-status]");
  function say(text, isError) {
    if (!statusEl) return;
    statusEl.textContent = text || "";
    statusEl.classList.toggle("error", !!isError);
  }

  function field(name) { return form.querySelector('[name="' + CSS.escape(name) + '"]'); }

  var busy = false;
  function setBusy(b) {
    busy = b;
    form.querySelectorAll("button[data-ceremony]").forEach(function (btn) { btn.disabled = b; });
  }

  function explain(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "AbortError") return t("cancelled");
    if (name === "InvalidStateError") return t("already_registered");
    if (name === "SecurityError") return t("security_error");
    if (name === "NotSupportedError") return t("not_supported");
    return t("failed");
  }

  // ---- ceremonies ---------------------------------------------------------

  var conditional = null; // the pending autofill request's AbortController

  async function submitWith(kind, cred, resultName, value) {
    var input = field(resultName);
    if (!input) throw new Error("missing field " + resultName);
    await report(kind, cred);
    input.value = value;
    form.submit();
  }

  function withTimeout(signal) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, CEREMONY_TIMEOUT_MS);
    if (signal) signal.addEventListener("abort", function () { ctl.abort(); });
    return { signal: ctl.signal, done: function () { clearTimeout(timer); } };
  }

  async function register(kind, choice) {
    var c = ceremonies[kind];
    var o = chooseOptions(c, c.create, choice);
    if (c.displayNameField) {
      var dn = field(c.displayNameField);
      if (dn && dn.value) { o.user.name = dn.value; o.user.displayName = dn.value; }
    }
    var t = withTimeout();
    try {
      var cred = await navigator.credentials.create({ publicKey: toCreate(o), signal: t.signal });
      await submitWith(kind, cred, c.result, attestationJSON(cred));
    } finally { t.done(); }
  }

  async function login(kind, choice) {
    var c = ceremonies[kind];
    if (conditional) { conditional.abort(); conditional = null; }
    var o = chooseOptions(c, c.get, choice);
    var t = withTimeout();
    try {
      var cred = await navigator.credentials.get({ publicKey: toGet(o), signal: t.signal });
      await submitWith(kind, cred, c.result, assertionJSON(cred));
    } finally { t.done(); }
  }

  // autofill arms conditional mediation: the browser offers passkeys in the
  // identifier field's suggestions and resolves when the user picks one.
  async function autofill() {
    var c = ceremonies.passkey_login;
    if (!c || !c.conditional || !field("identifier")) return;
    if (loginPlan && loginPlan.flow !== "autofill") return;
    if (!PublicKeyCredential.isConditionalMediationAvailable) return;
    try {
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    } catch (e) { return; }
    var ctl = new AbortController();
    conditional = ctl;
    try {
      var o = chooseOptions(c, c.get, null);
      var cred = await navigator.credentials.get({ publicKey: toGet(o), mediation: "conditional", signal: ctl.signal });
      await submitWith("passkey_login", cred, c.result, assertionJSON(cred));
    } catch (e) {
      // Aborted because the user pressed the button, or nothing picked.
    } finally {
      if (conditional === ctl) conditional = null;
    }
  }

  var runners = {
    passkey_login: login,
    webauthn_login: login,
    passkey_registration: register,
    passkey_settings: register,
    webauthn_registration: register
  };

  async function start(kind, choice) {
    if (busy || !ceremonies[kind] || !runners[kind]) return;
    setBusy(true);
    say(kind.indexOf("login") >= 0 ? t("waiting_passkey") : t("creating_passkey"));
    try {
      await runners[kind](kind, choice);
    } catch (err) {
      say(explain(err), true);
      setBusy(false);
      if (kind === "passkey_login") autofill();
    }
  }

  // ---- wiring -------------------------------------------------------------

  // Tell Tandem what this browser can do when it does not know yet (or
  // knows something else); a login page gets the plan those capabilities
  // call for.
  function same(a, b) {
    return !!a && !!b && ["webauthn", "platform_authenticator", "conditional_mediation", "hybrid_transport"].every(function (k) {
      return (a[k] === undefined ? null : a[k]) === (b[k] === undefined ? null : b[k]);
    });
  }
  probed.then(async function () {
    if (!page.device || same(page.device.capabilities, capabilities)) return;
    try {
      var res = await fetch(api + "/device", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ capabilities: capabilities })
      });
      if (!res.ok) return;
      var out = await res.json();
      if (page.login && out.login && !acted) applyLogin(out.login);
    } catch (e) { /* the page works with the plan it has */ }
  });

  if (!webauthn) {
    // No WebAuthn: what needs it stays hidden, the other ways stay open.
    form.querySelectorAll("[data-needs-webauthn]").forEach(function (el) { el.hidden = true; });
    return;
  }

  // The browser can run a ceremony: show the passkey first. The page came
  // without it (it cannot work without this script), with the other ways
  // open, and words that do not mention it.
  form.querySelectorAll("[data-needs-js]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-js-text]").forEach(function (el) {
    el.textContent = el.getAttribute("data-js-text");
  });
  var passkeySection = form.querySelector('section[data-group="passkey"]');
  var another = form.querySelector("[data-another]");
  if (another && passkeySection && !another.hasAttribute("data-keep-open")) another.open = false;
  var acted = false; // the user started something: stop revising the page

  function fallBack(message) {
    if (passkeySection) passkeySection.hidden = true;
    if (another) another.open = true;
    // The page no longer leads with the phone: say what it offers now, and
    // make the password the primary action.
    var lead = document.querySelector("p.lead");
    if (lead) lead.textContent = t("fallback_lead");
    var pw = form.querySelector('section[data-group="password"] button[type=submit]');
    if (pw) pw.classList.replace("btn-secondary", "btn-primary");
    var pwField = field("password");
    if (pwField && field("identifier") && field("identifier").value) pwField.focus();
    if (message) {
      var m = document.createElement("p");
      m.className = "msg msg-info";
      m.setAttribute("role", "status");
      m.textContent = message;
      var summary = another ? another.querySelector("summary") : null;
      if (summary) summary.after(m); else form.prepend(m);
    }
  }

  // applyLogin shapes the login page for the plan.
  function applyLogin(plan) {
    loginPlan = plan;
    var c = ceremonies.passkey_login;
    if (!plan || !c) return;
    if (plan.flow === "password_or_code") {
      fallBack(plan.message);
      return;
    }
    if (plan.passkey) c.plan = plan.passkey;
    if (plan.flow === "autofill") autofill();
  }

  // identifierFirst asks Tandem which credentials this e-mail has, then
  // asks the browser for exactly those: a phone-held passkey goes straight
  // to the QR code; never a QR code for someone with no phone to scan.
  async function identifierFirst() {
    var idField = field("identifier");
    var identifier = idField ? idField.value.trim() : "";
    if (!identifier) {
      say(t("enter_email"), true);
      if (idField) idField.focus();
      return;
    }
    say(t("looking_up"));
    var plan;
    try {
      var res = await fetch(api + "/login-plan", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ identifier: identifier })
      });
      if (!res.ok) throw new Error("login plan: " + res.status);
      plan = await res.json();
    } catch (e) {
      say(t("lookup_failed"), true);
      return;
    }
    say("");
    var c = ceremonies.passkey_login;
    var local = form.querySelector('button[data-ceremony="passkey_login"][data-choice="this_computer"]');
    if (!plan.passkey && plan.thisComputer && local) {
      // No passkey on a phone, but one on this computer: offer it, and
      // only on the user's word (local flows never come first unasked).
      c.choices = c.choices || {};
      c.choices.this_computer = plan.thisComputer;
      var primary = passkeySection.querySelector("button[data-ceremony]:not([data-choice])");
      if (primary) primary.hidden = true;
      local.hidden = false;
      local.classList.replace("btn-secondary", "btn-primary");
      local.textContent = t("use_this_computer");
      var lead = document.querySelector("p.lead");
      if (lead) lead.textContent = t("this_computer_lead");
      local.focus();
      loginPlan = plan;
      return;
    }
    if (plan.flow === "password_or_code" || !plan.passkey) {
      fallBack(plan.message);
      return;
    }
    c.plan = plan.passkey;
    c.choices = c.choices || {};
    if (plan.thisComputer) {
      c.choices.this_computer = plan.thisComputer;
      form.querySelectorAll('button[data-ceremony="passkey_login"][data-choice="this_computer"]').forEach(function (b) { b.hidden = false; });
    }
    loginPlan = plan;
    start("passkey_login", null);
  }

  form.querySelectorAll("button[data-ceremony]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      ev.preventDefault();
      acted = true;
      var kind = btn.getAttribute("data-ceremony");
      var choice = btn.getAttribute("data-choice");
      if (kind === "passkey_login" && !choice && loginPlan && loginPlan.flow === "identifier_first") {
        identifierFirst();
        return;
      }
      start(kind, choice);
    });
  });

  // Enter in the e-mail field means the primary action, the passkey, not
  // the first submit button in the form (the password's).
  form.addEventListener("submit", function (ev) {
    if (ev.submitter) return;
    var primary = passkeySection && !passkeySection.hidden && passkeySection.querySelector("button[data-ceremony]:not([data-choice])");
    if (primary) {
      ev.preventDefault();
      primary.click();
    }
  });

  // "Use this computer instead" at sign-up, and "Add a passkey to this
  // computer" in settings, only where this computer can hold a passkey.
  probed.then(function () {
    if (capabilities.platform_authenticator !== true) return;
    form.querySelectorAll('button[data-ceremony="passkey_registration"][data-choice="this_computer"], ' +
      'button[data-ceremony="passkey_settings"][data-choice="this_computer"]').forEach(function (b) { b.hidden = false; });
  });

  // Security-key login's second step: Kratos shows the trigger once the
  // identifier is known; start it straight away, as the user already chose.
  if (ceremonies.webauthn_login && !ceremonies.passkey_login) start("webauthn_login", null);

  if (page.login) applyLogin(page.login); else autofill();
})();
