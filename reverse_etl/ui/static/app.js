// retl ui: the Test events page refreshes itself by polling /api/test-events.
// Rows are built with textContent only: event data are untrusted text, never HTML.
"use strict";
(function () {
  const table = document.getElementById("test-events");
  if (!table) {
    return;
  }
  const status = document.getElementById("feed-status");
  const body = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  const kinds = { accepted: "ok", duplicate: "warn", rejected: "bad" };
  let newest = table.dataset.newest || "";

  function when(at) {
    if (typeof at !== "number") {
      return "-";
    }
    return new Date(at * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // Control characters and bidi overrides as escapes, as the server writes them (html.shown):
  // an override in an event's text would show the rest of its cell backwards.
  const unshown = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

  function shown(text) {
    return text.replace(unshown, (c) => {
      const code = c.charCodeAt(0);
      if (c === "\r") {
        return "\\r";
      }
      return code < 0x100
        ? "\\x" + code.toString(16).padStart(2, "0")
        : "\\u" + code.toString(16).padStart(4, "0");
    });
  }

  function cell(tr, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : shown(String(text));
    tr.appendChild(td);
    return td;
  }

  function row(r) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id || "";
    cell(tr, when(r.at));
    if ("omitted" in r) {
      const td = cell(tr, "... and " + r.omitted + " more events of this request (not shown)");
      td.colSpan = columns - 1;
      return tr;
    }
    cell(tr, r.platform);
    cell(tr, r.source);
    cell(tr, r.event);
    cell(tr, r.event_id);
    const verdict = cell(tr, "");
    const span = document.createElement("span");
    span.className = "badge " + (kinds[r.verdict] || "note");
    span.textContent = r.verdict;
    verdict.appendChild(span);
    cell(tr, r.verdict === "duplicate" ? "yes" : "no");
    cell(tr, r.test_event_code || "");
    cell(tr, r.problem || "");
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "show";
    const pre = document.createElement("pre");
    pre.textContent = shown(JSON.stringify(r.data, null, 2));
    details.append(summary, pre);
    cell(tr, "").appendChild(details);
    return tr;
  }

  function render(events) {
    const rows = events.map(row);
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      cell(tr, "No events received yet.").colSpan = columns;
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  async function poll() {
    try {
      const response = await fetch(table.dataset.feedUrl, { cache: "no-store" });
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      const doc = await response.json();
      const first = doc.events.length ? doc.events[0].id : "";
      if (first !== newest) {
        render(doc.events);
        newest = first;
      }
      status.textContent = "live: " + doc.events.length + " events, checked " + when(Date.now() / 1000);
    } catch (error) {
      status.textContent = "live: cannot reach retl ui (" + error.message + "); retrying";
    }
    window.setTimeout(poll, 1000);
  }

  poll();
})();
