// Galleon portal: upload a disk image from the browser to a new snapshot,
// as `galleon upload` does. The portal creates the snapshot and hands out
// a write SAS (POST /portal/upload/start); this script writes the file's
// pages to it with Put Page, 4 MiB at a time and a few at once, skipping
// all-zero ranges (an upload reads as zeros where nothing was written);
// for a raw image it writes the VHD footer the portal built as the last
// page; then the portal ends access (POST /portal/upload/finish), which
// seals the upload and records its sha256.
"use strict";

(() => {
  const CHUNK = 4 << 20; // the most one Put Page takes
  const PARALLEL = 4;
  const RETRIES = 3;
  const MiB = 1 << 20;

  const $ = (id) => document.getElementById(id);

  function base64(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }

  function unbase64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function allZero(buf) {
    const words = new Uint32Array(buf, 0, buf.byteLength >> 2);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    const rest = new Uint8Array(buf, words.length << 2);
    for (let i = 0; i < rest.length; i++) if (rest[i] !== 0) return false;
    return true;
  }

  function mib(n) {
    return (n / MiB).toFixed(1) + " MiB";
  }

  // A refusal from the portal: its message and the field it is about.
  class Refusal extends Error {
    constructor(message, field) {
      super(message);
      this.field = field || "";
    }
  }

  // post sends a form to the portal and returns its JSON answer.
  async function post(url, fields) {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(fields),
    });
    let body = null;
    if ((resp.headers.get("Content-Type") || "").includes("application/json")) body = await resp.json();
    if (!resp.ok) {
      if (body && body.error) throw new Refusal(body.error, body.field);
      if (resp.status === 403) throw new Refusal("The page's security token is no longer valid: reload the page and try again.");
      if (resp.status === 401 || resp.redirected) throw new Refusal("Your session has ended: sign in again in another tab, then try again.");
      throw new Refusal(`The portal answered ${resp.status} ${resp.statusText}.`);
    }
    if (!body) throw new Refusal("Your session has ended: sign in again in another tab, then try again.");
    return body;
  }

  // putPage writes body at offset through the write SAS, retrying a
  // network failure or a 5xx answer a few times.
  async function putPage(sas, offset, body) {
    const size = body.size !== undefined ? body.size : body.byteLength;
    for (let attempt = 1; ; attempt++) {
      let resp;
      try {
        resp = await fetch(sas + "&comp=page", {
          method: "PUT",
          credentials: "omit",
          headers: {
            "x-ms-range": `bytes=${offset}-${offset + size - 1}`,
            "x-ms-page-write": "update",
            "x-ms-version": "2021-12-02",
          },
          body,
        });
      } catch (e) {
        if (attempt >= RETRIES) throw new Refusal(`Writing bytes ${offset}-${offset + size - 1} failed: ${e.message}. Check the connection and upload again.`);
        continue;
      }
      if (resp.ok) return;
      if (resp.status >= 500 && attempt < RETRIES) continue;
      // Azure Storage's error: <Error><Code/><Message>…\nRequestId:…</Message></Error>.
      const xml = new DOMParser().parseFromString(await resp.text(), "application/xml");
      const msg = (xml.querySelector("Message")?.textContent || resp.statusText).split("\nRequestId:")[0];
      throw new Refusal(`Writing bytes ${offset}-${offset + size - 1} was refused (${resp.status}): ${msg}`);
    }
  }

  function setup() {
    const form = $("upload-form");
    if (!form) return;
    const button = $("upload");
    const fields = $("upload-fields");
    const errorBox = $("upload-error");
    const sub = $("subscription");
    const group = $("resource_group");
    const region = $("region");
    const fileInput = $("file");
    let regionTouched = false;

    // Only the chosen subscription's resource groups; a group's region is
    // the snapshot's unless the user chose another.
    const filterGroups = () => {
      let first = null;
      for (const o of group.options) {
        if (!o.dataset.subscription) continue;
        o.hidden = o.dataset.subscription !== sub.value;
        if (!o.hidden && !first) first = o;
      }
      const cur = group.selectedOptions[0];
      if (cur && cur.hidden && first) group.value = first.value;
    };
    const followGroup = () => {
      const o = group.selectedOptions[0];
      if (!regionTouched && o && o.dataset.location) region.value = o.dataset.location;
    };
    sub.addEventListener("change", () => { filterGroups(); followGroup(); });
    group.addEventListener("change", followGroup);
    region.addEventListener("change", () => { regionTouched = true; });
    filterGroups();

    const clearErrors = () => {
      errorBox.hidden = true;
      errorBox.textContent = "";
      for (const e of form.querySelectorAll(".field-error")) {
        if (e.id !== "name-error") e.textContent = "";
      }
      for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
    };
    const showError = (err) => {
      errorBox.textContent = err.message;
      if (err.snapshot) {
        // The snapshot exists but holds no sealed bytes: say where it is.
        const a = document.createElement("a");
        a.href = err.snapshot.resourceUrl;
        a.id = "upload-snapshot";
        a.textContent = "Open the snapshot";
        errorBox.append(" The snapshot was created and is waiting for its bytes: delete it from its page, or upload under another name. ", a);
      }
      errorBox.hidden = false;
      const field = err.field && $(err.field);
      if (field) {
        const out = $(err.field + "-error");
        if (out) out.textContent = err.message;
        field.setAttribute("aria-invalid", "true");
        field.focus();
      }
    };

    button.disabled = false;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors();
      const file = fileInput.files[0];
      if (!file) {
        showError(new Refusal("Choose a disk image file to upload.", "file"));
        return;
      }
      fields.disabled = true;
      button.disabled = true;
      try {
        await upload(form, file);
      } catch (err) {
        showError(err instanceof Refusal ? err : new Refusal(err.message || String(err)));
        fields.disabled = false;
        button.disabled = false;
      }
    });
  }

  async function upload(form, file) {
    const csrf = form.elements.csrf_token.value;
    const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
    const tail = new Uint8Array(await file.slice(Math.max(0, file.size - 512)).arrayBuffer());
    const started = await post(form.action, {
      csrf_token: csrf,
      subscription: form.elements.subscription.value,
      resource_group: form.elements.resource_group.value,
      name: form.elements.name.value.trim(),
      region: form.elements.region.value,
      os_type: form.elements.os_type.value,
      generation: form.elements.generation.value,
      file_name: file.name,
      file_size: String(file.size),
      head: base64(head),
      tail: base64(tail),
    });

    try {
      await send(form, file, csrf, started);
    } catch (err) {
      const e = err instanceof Refusal ? err : new Refusal(err.message || String(err));
      e.snapshot = started;
      throw e;
    }
  }

  async function send(form, file, csrf, started) {
    const section = $("upload-progress-section");
    const bar = $("upload-progress");
    const status = $("upload-status");
    section.hidden = false;
    $("upload-kind").textContent = started.describe;

    // Work: the file's chunks, then (raw) the footer.
    const total = started.uploadSize;
    let done = 0, sent = 0, skipped = 0;
    const t0 = performance.now();
    let t1 = 0; // when the last page was written
    const report = (final) => {
      const pct = final ? 100 : Math.min(99, Math.floor((done / total) * 100));
      const secs = ((t1 || performance.now()) - t0) / 1000;
      const rate = secs > 0 ? (sent / 1e6 / secs).toFixed(1) : "0.0";
      bar.value = pct;
      let text = `${pct} % · ${mib(done)} of ${mib(total)} · ${rate} MB/s`;
      if (skipped) text += ` · ${mib(skipped)} of zeros skipped`;
      status.textContent = text;
    };
    report(false);

    const offsets = [];
    for (let off = 0; off < file.size; off += CHUNK) offsets.push(off);
    let next = 0;
    const worker = async () => {
      while (next < offsets.length) {
        const off = offsets[next++];
        const slice = file.slice(off, Math.min(off + CHUNK, file.size));
        const buf = await slice.arrayBuffer();
        if (allZero(buf)) {
          skipped += buf.byteLength;
        } else {
          await putPage(started.sas, off, buf);
          sent += buf.byteLength;
        }
        done += buf.byteLength;
        report(false);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, offsets.length) }, worker));
    if (started.kind === "raw") {
      // The padding is never written; the footer is the last page.
      done += started.padding;
      skipped += started.padding;
      const footer = unbase64(started.footer);
      await putPage(started.sas, started.footerOffset, footer);
      sent += footer.byteLength;
      done += footer.byteLength;
    }
    t1 = performance.now();
    report(true);
    status.textContent += " · sealing and checking…";

    const sealed = await post(form.dataset.finish, { csrf_token: csrf, id: started.id });
    report(true);
    status.textContent += " · sealed";
    const link = $("go-to-resource");
    link.href = sealed.resourceUrl;
    link.textContent = sealed.name;
    $("upload-digest").textContent = sealed.digest;
    $("upload-done").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
