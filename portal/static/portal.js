// Galleon portal: small progressive enhancements. Every page works without
// this script; it adds the search box's suggestions, live name checks,
// the resource group choice, the version form's source fields, and polling
// of a deployment in progress and of a version's replication.
"use strict";

function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

async function getJSON(url) {
  const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(resp.status);
  return resp.json();
}

// The search box: services and resources as the user types.
function setupSearch() {
  const box = document.getElementById("search-box");
  const list = document.getElementById("search-suggestions");
  if (!box || !list) return;
  let seq = 0;
  const close = () => { list.hidden = true; box.setAttribute("aria-expanded", "false"); box.removeAttribute("aria-activedescendant"); };
  const show = async () => {
    const q = box.value.trim();
    const mine = ++seq;
    if (!q) { close(); return; }
    let items;
    try { items = await getJSON("/portal/search/suggest?q=" + encodeURIComponent(q)); } catch { return; }
    if (mine !== seq) return;
    list.replaceChildren();
    let kind = "";
    for (const it of items) {
      if (it.kind !== kind) {
        kind = it.kind;
        const h = document.createElement("li");
        h.className = "group";
        h.setAttribute("role", "presentation");
        h.textContent = kind === "service" ? "Services" : "Resources";
        list.append(h);
      }
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = it.url;
      a.setAttribute("role", "option");
      a.textContent = it.name;
      if (it.detail) {
        const small = document.createElement("small");
        small.textContent = it.detail;
        a.append(small);
      }
      li.append(a);
      list.append(li);
    }
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "group";
      li.textContent = "No results";
      list.append(li);
    }
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
  };
  box.addEventListener("input", debounce(show, 150));
  box.addEventListener("keydown", (e) => {
    const opts = [...list.querySelectorAll("a[role=option]")];
    const cur = opts.findIndex((a) => a.getAttribute("aria-selected") === "true");
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!opts.length) return;
      const next = e.key === "ArrowDown" ? (cur + 1) % opts.length : (cur - 1 + opts.length) % opts.length;
      opts.forEach((a, i) => {
        a.id = "search-option-" + i;
        a.setAttribute("aria-selected", i === next ? "true" : "false");
      });
      box.setAttribute("aria-activedescendant", opts[next].id);
    } else if (e.key === "Enter" && cur >= 0) {
      e.preventDefault();
      location.href = opts[cur].href;
    } else if (e.key === "Escape") {
      close();
    }
  });
  // Enter can also reach the form as a submission (some input methods send
  // it as a separate character event): a chosen suggestion still wins.
  box.form?.addEventListener("submit", (e) => {
    const chosen = list.hidden ? null : list.querySelector('a[aria-selected="true"]');
    if (chosen) {
      e.preventDefault();
      location.href = chosen.href;
    }
  });
  document.addEventListener("click", (e) => { if (!list.contains(e.target) && e.target !== box) close(); });
}

// Names checked against the server's rule as the user types.
function setupNameChecks() {
  for (const input of document.querySelectorAll("input[data-validate]")) {
    const out = document.getElementById(input.id + "-error");
    const check = debounce(async () => {
      const name = input.value;
      if (!name) { out.textContent = ""; input.removeAttribute("aria-invalid"); return; }
      let res;
      try {
        res = await getJSON("/portal/validate?kind=" + encodeURIComponent(input.dataset.validate) + "&name=" + encodeURIComponent(name));
      } catch { return; }
      if (input.value !== name) return;
      out.textContent = res.valid ? "" : res.message;
      if (res.valid) input.removeAttribute("aria-invalid"); else input.setAttribute("aria-invalid", "true");
    }, 150);
    input.addEventListener("input", check);
  }
}

// The resource group choice: typing a new name picks "Create new";
// only the chosen subscription's groups are offered.
function setupResourceGroup() {
  const sub = document.getElementById("subscription");
  const existing = document.getElementById("resource_group");
  const fresh = document.getElementById("new_resource_group");
  if (!existing || !fresh) return;
  fresh.addEventListener("input", () => { document.getElementById("rg-new").checked = true; });
  existing.addEventListener("change", () => { document.getElementById("rg-existing").checked = true; });
  const filter = () => {
    for (const o of existing.options) {
      if (o.dataset.subscription) o.hidden = sub && o.dataset.subscription !== sub.value;
    }
  };
  if (sub) sub.addEventListener("change", filter);
  filter();
}

// A deployment in progress: poll its status and reload when it ends.
function setupDeployment() {
  const el = document.getElementById("deployment");
  if (!el || el.dataset.state !== "InProgress") return;
  const poll = async () => {
    try {
      const st = await getJSON(el.dataset.statusUrl);
      if (st.state !== "InProgress") { location.reload(); return; }
      const rows = document.getElementById("deployment-resources");
      if (rows) {
        rows.querySelectorAll("tr").forEach((tr, i) => {
          const r = st.resources[i];
          if (r) tr.lastElementChild.textContent = r.status === "Succeeded" ? "OK" : r.status;
        });
      }
    } catch { /* try again */ }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}

// The version form: only the chosen source kind's fields are shown.
function setupSourceKinds() {
  const radios = document.querySelectorAll("input[name=source_kind]");
  if (!radios.length) return;
  const show = () => {
    const kind = document.querySelector("input[name=source_kind]:checked")?.value;
    for (const fs of document.querySelectorAll("fieldset.source")) fs.hidden = fs.dataset.kind !== kind;
  };
  radios.forEach((r) => r.addEventListener("change", show));
  show();
}

// The version form's target regions: the region chosen in Basics is the
// source region, listed first, always replicated to and not removable.
function setupSourceRegion() {
  const region = document.getElementById("region");
  const hidden = document.getElementById("source-target");
  const body = document.querySelector("#replication tbody");
  if (!region || !hidden || !body) return;
  region.addEventListener("change", () => {
    for (const tr of body.querySelectorAll("tr[data-region]")) {
      const box = tr.querySelector("input[type=checkbox]");
      const note = tr.querySelector(".source-note");
      const source = tr.dataset.region === region.value;
      if (source) {
        box.checked = true;
        body.prepend(tr);
      } else if (box.disabled) {
        box.checked = false;
      }
      box.disabled = source;
      note.textContent = source ? " (source region)" : "";
    }
    hidden.name = "target_" + region.value;
  });
}

// A version's page: each region's replication, updated until it ends.
function setupReplication() {
  const el = document.getElementById("replication");
  if (!el || !el.dataset.statusUrl) return;
  const poll = async () => {
    let st;
    try { st = await getJSON(el.dataset.statusUrl); } catch { setTimeout(poll, 2000); return; }
    document.getElementById("provisioning-state").textContent = st.provisioningState;
    document.getElementById("aggregated-state").textContent = st.aggregatedState || "";
    for (const r of st.regions || []) {
      const tr = el.querySelector(`tr[data-region="${CSS.escape(r.region)}"]`);
      if (!tr) continue;
      tr.querySelector(".state").textContent = r.state + (r.details ? " " + r.details : "");
      tr.querySelector("progress").value = r.progress;
      tr.querySelector(".pct").textContent = r.progress + " %";
    }
    if (st.provisioningState === "Creating" || st.provisioningState === "Updating") setTimeout(poll, 1000);
  };
  if (el.dataset.state === "Creating" || el.dataset.state === "Updating") setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  setupSearch();
  setupNameChecks();
  setupResourceGroup();
  setupDeployment();
  setupSourceKinds();
  setupSourceRegion();
  setupReplication();
});
