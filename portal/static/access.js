// Galleon portal: the add role assignment form. The form works without
// this script (the server resolves a typed name or address on Save); it
// adds filtering the roles, live member suggestions as a keyboard-usable
// combobox, and the notice that an address outside the organisation will
// be invited.
"use strict";

(() => {
  const debounce = (fn, ms) => {
    let t;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  };

  // Roles: a filter over names and descriptions.
  function setupRoleFilter() {
    const box = document.getElementById("role-filter");
    const rows = document.querySelectorAll("#roles tr");
    if (!box || !rows.length) return;
    box.closest(".role-filter").hidden = false;
    box.addEventListener("input", () => {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const tr of rows) {
        const hay = (tr.dataset.search || "").toLowerCase();
        const checked = tr.querySelector("input[type=radio]")?.checked;
        tr.hidden = !checked && !words.every((w) => hay.includes(w));
      }
    });
  }

  // Members: suggestions from the directory as the user types.
  function setupMemberPicker() {
    const box = document.getElementById("member");
    const list = document.getElementById("member-suggestions");
    const picked = document.getElementById("principal_id");
    const selected = document.getElementById("member-selected");
    const notice = document.getElementById("invite-notice");
    const address = document.getElementById("invite-address");
    const error = document.getElementById("member-error");
    if (!box || !list || !picked) return;
    const kind = () => document.querySelector("input[name=kind]:checked")?.value || "user";
    let seq = 0;
    let pickedAt = -Infinity; // when Enter last picked a suggestion

    const close = () => {
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
    };
    const setNotice = (show) => {
      notice.hidden = !show;
      address.textContent = show ? box.value.trim() : "";
    };
    const options = () => [...list.querySelectorAll("[role=option]")];
    const activate = (i) => {
      const opts = options();
      opts.forEach((o, j) => o.setAttribute("aria-selected", j === i ? "true" : "false"));
      if (opts[i]) {
        box.setAttribute("aria-activedescendant", opts[i].id);
        opts[i].scrollIntoView({ block: "nearest" });
      }
    };
    const pick = (opt) => {
      picked.value = opt.dataset.id;
      box.value = opt.dataset.name;
      selected.textContent = "Selected: " + opt.dataset.name + (opt.dataset.detail ? " (" + opt.dataset.detail + ")" : "") + ", " + opt.dataset.type;
      error.textContent = "";
      box.removeAttribute("aria-invalid");
      setNotice(false);
      close();
    };

    const show = async () => {
      const q = box.value.trim();
      const mine = ++seq;
      if (!q) { close(); setNotice(false); return; }
      let res;
      try {
        const resp = await fetch("/portal/access/principals?kind=" + encodeURIComponent(kind()) + "&q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!resp.ok) throw new Error(resp.status);
        res = await resp.json();
      } catch { return; }
      if (mine !== seq) return;
      list.replaceChildren();
      res.principals.forEach((p, i) => {
        const li = document.createElement("li");
        li.id = "member-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.id = p.id;
        li.dataset.name = p.name;
        li.dataset.detail = p.detail || "";
        li.dataset.type = p.type;
        li.textContent = p.name;
        const small = document.createElement("small");
        small.textContent = [p.detail, p.type].filter(Boolean).join(" · ");
        li.append(small);
        li.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus in the box
        li.addEventListener("click", () => pick(li));
        list.append(li);
      });
      if (!res.principals.length && res.invite) {
        close(); // the notice below says it
        setNotice(true);
        return;
      }
      if (!res.principals.length) {
        const li = document.createElement("li");
        li.className = "group";
        li.setAttribute("role", "presentation");
        li.textContent = res.error || "No matches";
        list.append(li);
      }
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      setNotice(res.invite);
    };
    const refresh = debounce(show, 200);

    box.addEventListener("input", () => {
      picked.value = "";
      selected.textContent = "";
      refresh();
    });
    box.addEventListener("keydown", (e) => {
      const opts = options();
      const cur = opts.findIndex((o) => o.getAttribute("aria-selected") === "true");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) { show(); return; }
        if (!opts.length) return;
        activate(e.key === "ArrowDown" ? (cur + 1) % opts.length : (cur - 1 + opts.length) % opts.length);
      } else if (e.key === "Enter" && !list.hidden && cur >= 0) {
        e.preventDefault();
        pick(opts[cur]);
        pickedAt = performance.now();
      } else if (e.key === "Escape" && !list.hidden) {
        e.preventDefault();
        close();
      }
    });
    // Enter can also reach the form as a submission (some input methods,
    // and DevTools' key events, send it as a separate character event):
    // the Enter that picks a suggestion does not also save.
    box.form?.addEventListener("submit", (e) => {
      if (document.activeElement !== box) return;
      const chosen = list.hidden ? null : list.querySelector('[role=option][aria-selected="true"]');
      if (chosen) {
        e.preventDefault();
        pick(chosen);
      } else if (performance.now() - pickedAt < 500) {
        e.preventDefault();
      }
    });
    box.addEventListener("blur", () => setTimeout(close, 150));
    for (const r of document.querySelectorAll("input[name=kind]")) {
      r.addEventListener("change", () => {
        picked.value = "";
        selected.textContent = "";
        setNotice(false);
        if (box.value.trim()) show(); else close();
      });
    }
    if (picked.value && box.value) selected.textContent = "Selected: " + box.value;
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupRoleFilter();
    setupMemberPicker();
  });
})();
