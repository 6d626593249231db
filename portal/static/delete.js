// Galleon portal: the delete confirmation and a deletion in progress.
// Delete stays disabled until the resource's name is typed exactly (the
// server checks it again); a deletion ARM runs in the background is
// polled until it ends, then the page moves on to where the resource was
// listed.
"use strict";

(() => {
  function setupConfirm() {
    const input = document.getElementById("confirm-name");
    const button = document.getElementById("confirm-delete");
    if (!input || !button) return;
    const check = () => { button.disabled = input.value.trim() !== input.dataset.name; };
    input.addEventListener("input", check);
    check();
  }

  function setupDeletion() {
    const el = document.getElementById("deletion");
    if (!el || el.dataset.state !== "InProgress") return;
    const poll = async () => {
      let st;
      try {
        const resp = await fetch(el.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
        st = await resp.json();
      } catch {
        setTimeout(poll, 2000);
        return;
      }
      if (st.state === "Succeeded" && st.next) {
        location.href = st.next;
        return;
      }
      if (st.state === "Failed" || st.error) {
        const box = document.getElementById("delete-error");
        box.textContent = st.error;
        box.hidden = false;
        document.getElementById("deletion-progress")?.remove();
        document.getElementById("deletion-title").textContent = "Deleting " + (st.name || "") + " failed";
        return;
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupConfirm();
    setupDeletion();
  });
})();
