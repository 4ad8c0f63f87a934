/* rapportd review page: the keyboard on top of plain forms (everything works without it).
 *
 * j/k move, o/Enter open, e edit, a accept, d dismiss (then Enter or 1-4 for why),
 * s snooze (then Enter for a week, or 1-5), x select, z undo, ? the list of keys.
 * Every action clicks the row's own form button, so htmx sends the same POST as the mouse
 * would; after a keyboard action the focus moves on to the next suggestion.
 */
(function () {
  "use strict";

  var advanceFrom = null; // the row a keyboard action was taken on
  var pending = null; // {rows, kind} while a chooser dialog is open

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("li.row"));
  }
  function rowOf(el) {
    return el && el.closest ? el.closest("li.row") : null;
  }
  function current() {
    return rowOf(document.activeElement);
  }
  function live(row) {
    return row && row.getAttribute("data-live") === "1";
  }
  function focusRow(row) {
    if (!row) return;
    var summary = row.querySelector("summary");
    if (!summary) return;
    summary.focus();
    summary.scrollIntoView({ block: "nearest" });
  }
  function move(delta) {
    var all = rows();
    if (!all.length) return;
    var i = all.indexOf(current());
    var next = i < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, i + delta));
    focusRow(all[next]);
  }
  function nextLive(fromId) {
    var all = rows();
    var at = all.findIndex(function (r) { return r.id === fromId; });
    for (var n = at + 1; n < all.length; n++) if (live(all[n])) return all[n];
    for (var m = at - 1; m >= 0; m--) if (live(all[m])) return all[m];
    return null;
  }
  function selected() {
    return Array.prototype.slice.call(document.querySelectorAll("li.row input.pick:checked")).map(rowOf);
  }
  function updatePicked() {
    var label = document.getElementById("picked");
    if (!label) return;
    var n = selected().length;
    label.textContent = n ? n + " selected:" : "Tick several (x) to act on them at once:";
  }
  function typing(event) {
    var t = event.target;
    if (!t || !t.tagName) return false;
    if (t.isContentEditable) return true;
    if (t.tagName === "TEXTAREA" || t.tagName === "SELECT") return true;
    return t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "radio";
  }
  function click(row, selector) {
    var button = row && row.querySelector(selector);
    if (!button) return false;
    advanceFrom = row.id;
    button.click();
    return true;
  }
  function bulk(action) {
    var button = document.querySelector('#bulk button[value="' + action + '"]');
    if (button) button.click();
  }

  // ---- the two choosers (dismiss: why; snooze: until when)
  function choose(kind, targets) {
    var dialog = document.getElementById(kind + "-dialog");
    if (!dialog || !targets.length || typeof dialog.showModal !== "function") return false;
    pending = { kind: kind, rows: targets };
    dialog.showModal();
    return true;
  }
  function picked(dialog, button) {
    var job = pending;
    pending = null;
    dialog.close();
    if (!job || button.hasAttribute("data-cancel")) {
      if (job) focusRow(job.rows[0]);
      return;
    }
    if (job.kind === "dismiss") {
      var reason = button.getAttribute("data-reason") || "";
      if (job.rows.length > 1 || job.rows[0].querySelector("input.pick:checked")) {
        document.getElementById("bulk-reason").value = reason;
        bulk("dismiss");
      } else {
        job.rows[0].querySelector('select[name="reason"]').value = reason;
        click(job.rows[0], "form.dismiss button");
      }
    } else {
      job.rows[0].querySelector('input[name="until"]').value = button.getAttribute("data-until");
      click(job.rows[0], "form.snooze button");
    }
  }
  ["dismiss", "snooze"].forEach(function (kind) {
    var dialog = document.getElementById(kind + "-dialog");
    if (!dialog) return;
    var buttons = Array.prototype.slice.call(dialog.querySelectorAll("button"));
    buttons.forEach(function (b) {
      b.addEventListener("click", function () { picked(dialog, b); });
    });
    dialog.addEventListener("keydown", function (event) {
      var n = parseInt(event.key, 10);
      var numbered = buttons.filter(function (b) { return b.querySelector("kbd") && /^[0-9]$/.test(b.querySelector("kbd").textContent); });
      if (n >= 1 && n <= numbered.length) {
        event.preventDefault();
        picked(dialog, numbered[n - 1]);
      }
    });
    dialog.addEventListener("cancel", function () {
      var job = pending;
      pending = null;
      if (job) setTimeout(function () { focusRow(job.rows[0]); }, 0);
    });
  });

  // ---- the keys
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    if (document.querySelector("dialog[open]")) return;
    var row = current();
    var key = event.key;
    var help = document.getElementById("shortcuts");
    if (key === "Escape" && help && help.open) { help.open = false; return; }
    var handled = true;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "?") {
      if (help) { help.open = !help.open; if (help.open) help.querySelector("summary").focus(); }
    } else if (key === "z") {
      var undo = document.getElementById("undo-last");
      if (undo) { advanceFrom = null; undo.querySelector("button").click(); }
    } else if (key === "a" && selected().length) bulk("accept");
    else if (key === "d" && selected().length) choose("dismiss", selected());
    else if (!row) handled = key === "o" || key === "e" || key === "a" || key === "d" || key === "s" || key === "x";
    else if (key === "o") {
      var details = row.querySelector("details.item");
      details.open = !details.open;
      focusRow(row);
    }
    else if (key === "e") {
      var item = row.querySelector("details.item");
      var edit = row.querySelector("details.edit");
      if (edit) {
        item.open = true;
        edit.open = true;
        var body = edit.querySelector("textarea");
        body.focus();
      }
    } else if (key === "a" && live(row)) click(row, "form.accept button");
    else if (key === "d" && live(row)) choose("dismiss", [row]);
    else if (key === "s" && live(row)) choose("snooze", [row]);
    else if (key === "x" && live(row)) {
      var box = row.querySelector("input.pick");
      box.checked = !box.checked;
      updatePicked();
    } else handled = false;
    if (handled) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("pick")) updatePicked();
  });

  // ---- after an answer: the keyboard goes on to the next suggestion
  document.body.addEventListener("htmx:configRequest", function (event) {
    var row = rowOf(event.detail.elt);
    var item = row && row.querySelector("details.item");
    if (item && item.open) event.detail.headers["X-Row-Open"] = "1";
  });
  // The answered row is new content: htmx:load fires on it (the old row, detached, cannot
  // tell the page). Wait for htmx to settle it (it focuses the answer's notice), then move on.
  document.body.addEventListener("htmx:load", function (event) {
    var row = event.detail && event.detail.elt;
    if (!advanceFrom || !row || row.id !== advanceFrom) return;
    var from = advanceFrom;
    advanceFrom = null;
    updatePicked();
    setTimeout(function () { focusRow(nextLive(from)); }, 60);
  });
  document.body.addEventListener("htmx:oobAfterSwap", function () { updatePicked(); });

  // ---- nothing fails silently: a refusal the page cannot show in place, or no answer
  function say(text) {
    var flash = document.getElementById("flash");
    if (!flash) { window.alert(text); return; }
    flash.innerHTML = "";
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    flash.appendChild(p);
    p.setAttribute("tabindex", "-1");
    p.focus();
  }
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    advanceFrom = null;
    say(status === 403
      ? "Refused: your session ended or the page is too old. Reload the page; nothing was changed."
      : "rapportd answered " + status + "; nothing was changed. Reload the page and try again.");
  });
  document.body.addEventListener("htmx:sendError", function () {
    advanceFrom = null;
    say("rapportd did not answer; nothing was changed. Check that it runs, then try again.");
  });

  // ---- undo buttons disappear when their time is up
  function expireUndo() {
    var now = Date.now();
    document.querySelectorAll("form.undo[data-until]").forEach(function (form) {
      if (parseInt(form.getAttribute("data-until"), 10) < now) form.remove();
    });
  }
  setInterval(expireUndo, 1000);
})();
