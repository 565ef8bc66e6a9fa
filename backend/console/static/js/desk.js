// The one-stop desk: the day at a glance (live), dossier lookup by scan, receiving and sending handovers,
// booking a home appointment for a citizen, and the II.06a report.
import { api, currentUser, errorText, fmtTime, h, money, startPage, t, tabs, toast, vnDate } from "./common.js";
import { pick } from "./i18n.js";
import { renderReport } from "./report.js";

const user = startPage(["desk", "admin"]);
const VIEWS = ["incoming", "on_hand", "outgoing", "due_soon", "overdue"];
let selectedView = "incoming";
const S10 = /^[A-Z]{2}\d{9}[A-Z]{2}$/;

function normaliseId(raw) {
  return raw.trim().toUpperCase().replace(/\s+/g, "");
}

// --- day at a glance -------------------------------------------------------------------------------------

async function refreshCounts() {
  const totals = await Promise.all(
    VIEWS.map((view) => api(`dossiers?view=${view}&limit=1`).then((p) => p.total).catch(() => null)),
  );
  VIEWS.forEach((view, i) => {
    const el = document.getElementById(`count-${view}`);
    const value = totals[i] === null ? "?" : String(totals[i]);
    if (el.textContent !== value) {
      const first = el.textContent === "–";
      el.textContent = value;
      if (first) return;
      el.parentElement.classList.add("flash");
      setTimeout(() => el.parentElement.classList.remove("flash"), 1200);
    }
  });
}

function dossierRow(d) {
  const due = d.due_at ? fmtTime(d.due_at) : "—";
  return h(
    "tr",
    { class: d.timeliness === "overdue" ? "late" : null, dataset: { item: d.item_id } },
    h("td", {}, h("a", { href: `#dossier/${d.item_id}`, class: "mono" }, d.item_id)),
    h("td", { title: d.procedure_name || "" }, d.procedure_name || d.procedure || "—"),
    h("td", {}, pick(d.status_label)),
    h("td", {}, d.custodian?.org_name || d.custodian?.kind || "—"),
    h("td", {}, due),
  );
}

async function refreshList() {
  const title = document.getElementById("list-title");
  title.dataset.i18n = `view.${selectedView}`;
  title.textContent = t(`view.${selectedView}`);
  const body = document.querySelector("#list tbody");
  try {
    const page = await api(`dossiers?view=${selectedView}&limit=100`);
    body.replaceChildren(
      ...(page.items.length ? page.items.map(dossierRow) : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("list.empty")))]),
    );
    document.getElementById("list-updated").textContent = `${t("updated")} ${fmtTime(new Date().toISOString(), false)}`;
  } catch (err) {
    toast(errorText(err), "error");
  }
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshCounts();
    refreshList();
    if (location.hash.startsWith("#receive")) loadIncomingHandovers();
  }, 150);
}

for (const tile of document.querySelectorAll(".tile")) {
  tile.addEventListener("click", () => {
    selectedView = tile.dataset.view;
    document.querySelectorAll(".tile").forEach((x) => x.classList.toggle("selected", x === tile));
    refreshList();
  });
}

// Live: the desk feed (server-sent events); if it is unavailable, poll instead. Either way the tiles update.
function setLive(mode) {
  const el = document.getElementById("live");
  el.dataset.mode = mode;
  el.textContent = `● ${t(`live.${mode}`)}`;
}

let pollTimer = null;
function startPolling(every) {
  clearInterval(pollTimer);
  pollTimer = setInterval(refreshSoon, every);
}

// The feed opens with a single-use ticket (60 s) asked for with the bearer header: the token itself never
// goes into a URL (URLs are logged). A ticket opens one stream once, so EventSource's own reconnect (which
// reuses the URL) cannot work: every (re)connect asks for a new ticket.
let feedRetries = 0;
function reconnectFeedLater() {
  feedRetries = Math.min(feedRetries + 1, 6);
  setTimeout(connectFeed, 1000 * 2 ** feedRetries); // 2 s, 4 s … 64 s
}

async function connectFeed() {
  if (!user?.organisation_id || typeof EventSource === "undefined") {
    setLive("poll");
    startPolling(5000);
    return;
  }
  const desk = encodeURIComponent(user.organisation_id);
  let ticket;
  try {
    ({ ticket } = await api(`desks/${desk}/feed-ticket`, { method: "POST" }));
  } catch (err) {
    setLive("poll");
    startPolling(5000);
    if (err?.status !== 403 && err?.status !== 404) reconnectFeedLater(); // 403/404: no feed here, polling only
    return;
  }
  const source = new EventSource(`/api/v1/desks/${desk}/feed?ticket=${encodeURIComponent(ticket)}`);
  let ready = false;
  const onReady = () => {
    ready = true;
    feedRetries = 0;
    setLive("sse");
    startPolling(60000); // a slow safety net: the feed is best effort
  };
  source.addEventListener("ready", onReady);
  source.addEventListener("open", () => setTimeout(() => ready || onReady(), 2000));
  source.addEventListener("desk", (event) => {
    const live = document.getElementById("live");
    live.dataset.events = String(Number(live.dataset.events || 0) + 1);
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      data = {};
    }
    if (data.type === "handover.incoming") toast(`${t("view.incoming")}: +${data.count ?? ""} (${data.sender ?? ""})`);
    if (data.type === "handover.discrepancy") toast(`${t("receive.discrepancy")}`, "warn");
    refreshSoon();
  });
  source.addEventListener("message", refreshSoon);
  // The account was disabled, moved or signed out everywhere: the next API call sends the clerk to sign in.
  source.addEventListener("revoked", () => {
    source.close();
    setLive("poll");
    refreshSoon();
  });
  source.addEventListener("error", () => {
    source.close();
    setLive("poll");
    startPolling(5000);
    reconnectFeedLater();
  });
}

// --- dossier -------------------------------------------------------------------------------------------

const procedureCache = new Map();
async function procedure(code) {
  if (!code) return null;
  if (!procedureCache.has(code)) procedureCache.set(code, api(`procedures/${encodeURIComponent(code)}`).catch(() => null));
  return procedureCache.get(code);
}

async function openDossier(itemId) {
  const box = document.getElementById("dossier");
  if (!itemId) return;
  box.replaceChildren(h("p", { class: "muted" }, "…"));
  let d;
  try {
    d = await api(`dossiers/${encodeURIComponent(itemId)}`);
  } catch (err) {
    box.replaceChildren(h("p", { class: "error", id: "dossier-error" }, `${t("dossier.notfound")}: ${itemId}. ${err.status === 404 ? "" : errorText(err)}`));
    return;
  }
  const proc = await procedure(d.procedure);
  const ticks = new Map((d.pickup?.documents || []).map((x) => [x.id, x]));
  const docs = (proc?.documents || []).map((doc) => {
    const tick = ticks.get(doc.id);
    const ok = tick ? tick.provided : null;
    return h(
      "li",
      { class: ok === false ? "bad" : ok ? "good" : "" },
      ok === null ? "☐ " : ok ? "☑ " : "☒ ",
      doc.name,
      " ",
      h("small", { class: "muted" }, `(${doc.original ? t("dossier.original") : t("dossier.copy")}${tick ? ` · ${tick.provided ? t("dossier.provided") : t("dossier.missing")}` : ""})`),
    );
  });
  const timeliness = d.timeliness ? t(`timeliness.${d.timeliness}`) : "—";
  box.replaceChildren(
    h(
      "div",
      { class: "card dossier-head" },
      h("h2", {}, h("span", { class: "mono", id: "dossier-id" }, d.item_id), " ", h("span", { class: "badge" }, pick(d.status_label))),
      h("p", {}, h("b", {}, d.procedure_name || d.procedure || ""), " ", h("span", { class: "muted" }, d.procedure || "")),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("dossier.deadline")),
        h("dd", { class: d.timeliness === "overdue" ? "bad" : "" }, `${fmtTime(d.due_at)} · ${timeliness}`),
        h("dt", {}, t("dossier.channel")),
        h("dd", {}, t(`channel.${d.channel}`)),
        h("dt", {}, t("dossier.citizen")),
        h("dd", {}, d.citizen ? `${d.citizen.full_name || ""} · ${d.citizen.phone}` : "—"),
        h("dt", {}, t("dossier.fees")),
        h(
          "dd",
          {},
          d.pickup ? `${money(d.pickup.fee_collected)} · ${t("dossier.receipt")} ${d.pickup.receipt_number || "—"}` : "—",
          proc ? h("small", { class: "muted" }, ` (${t("book.procedure")}: ${proc.fee || proc.charge || "—"})`) : null,
        ),
        d.pickup?.seal_number ? [h("dt", {}, t("dossier.seal")), h("dd", {}, d.pickup.seal_number)] : null,
        d.result_item_id ? [h("dt", {}, t("dossier.result")), h("dd", { class: "mono" }, d.result_item_id)] : null,
      ),
    ),
    h(
      "div",
      { class: "cols" },
      h(
        "div",
        { class: "card" },
        h("h3", {}, t("dossier.timeline")),
        h(
          "ol",
          { class: "timeline" },
          (d.events || []).map((e) =>
            h("li", {}, h("time", {}, fmtTime(e.at)), " ", h("b", {}, pick(e.label)), " ", h("span", { class: "muted" }, e.org || e.place || "")),
          ),
        ),
      ),
      h(
        "div",
        { class: "card" },
        h("h3", {}, t("dossier.custody")),
        h(
          "ol",
          { class: "chain" },
          (d.custody || []).map((c) =>
            h("li", {}, h("b", {}, c.kind === "courier" ? `${t("custody.courier")} · ${c.org_name || ""}` : c.org_name || c.kind), h("br"), h("small", { class: "muted" }, `${t("dossier.since")} ${fmtTime(c.since)} ${t("dossier.until")} ${c.until ? fmtTime(c.until) : t("dossier.now")}`)),
          ),
        ),
        h("h3", {}, t("dossier.documents")),
        h("ul", { class: "docs" }, docs.length ? docs : h("li", { class: "muted" }, "—")),
      ),
    ),
  );
}

document.getElementById("scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("scan");
  const id = normaliseId(input.value);
  input.value = "";
  if (!id) return;
  // On the receive/send screens the scanner feeds the batch; elsewhere it opens the dossier.
  if (location.hash.startsWith("#receive") && receiving) return scanReceive(id);
  if (location.hash.startsWith("#send")) return scanSend(id);
  location.hash = `#dossier/${id}`;
});

// --- receive a handover ---------------------------------------------------------------------------------

let receiving = null; // {handover, scanned: [], done: bool}

async function loadIncomingHandovers() {
  const list = document.getElementById("incoming-handovers");
  try {
    const page = await api("handovers?direction=incoming&status=pending&limit=100");
    list.replaceChildren(
      ...(page.items.length
        ? page.items.map((ho) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: receiving?.handover.id === ho.id ? "selected" : "", dataset: { handover: ho.id }, onclick: () => startReceive(ho.id) },
                h("b", {}, `${t("receive.from")} ${ho.from.org || ho.from.kind}`),
                h("br"),
                h("small", {}, `${ho.items.length} ${t("receive.items")} · ${fmtTime(ho.created_at)}`),
              ),
            ),
          )
        : [h("li", { class: "muted" }, t("receive.none"))]),
    );
  } catch (err) {
    toast(errorText(err), "error");
  }
}

async function startReceive(id) {
  const handover = await api(`handovers/${id}`);
  receiving = { handover, scanned: [], done: false };
  renderReceive();
  loadIncomingHandovers();
}

function scanReceive(id) {
  if (!receiving || receiving.done) return;
  if (!receiving.scanned.includes(id)) receiving.scanned.push(id);
  renderReceive();
}

function renderReceive() {
  const panel = document.getElementById("receive-panel");
  const { handover, scanned, done } = receiving;
  const manifest = handover.items.filter((i) => i.state !== "extra").map((i) => i.item_id);
  const rows = [];
  for (const item of handover.items) {
    let state = item.state;
    if (!done && state === "expected") state = scanned.includes(item.item_id) ? "scanned" : "expected";
    rows.push({ id: item.item_id, state });
  }
  if (!done) for (const id of scanned) if (!manifest.includes(id)) rows.push({ id, state: "extra" });
  const count = scanned.filter((s) => manifest.includes(s)).length;
  const missing = rows.filter((r) => r.state === "missing" || (!done && r.state === "expected"));
  const extra = rows.filter((r) => r.state === "extra");
  const banner = done
    ? handover.status === "discrepancy"
      ? h("div", { class: "banner bad", id: "receive-result" }, t("receive.discrepancy"),
          h("ul", {}, handover.discrepancies.map((x) => h("li", { class: "mono" }, `${x.item_id}: ${t(`state.${x.kind}`)}`))))
      : h("div", { class: "banner good", id: "receive-result" }, t("receive.ok"))
    : missing.length || extra.length
      ? h("div", { class: "banner warn" }, `${t("receive.warn")} (${missing.length}) ${extra.length ? `· ${t("state.extra")}: ${extra.length}` : ""}`)
      : null;
  const form = done
    ? null
    : h(
        "form",
        { id: "receive-form", class: "row", autocomplete: "off", onsubmit: (event) => {
          event.preventDefault();
          const input = document.getElementById("receive-scan");
          const id = normaliseId(input.value);
          input.value = "";
          if (id) scanReceive(id);
        } },
        h("label", {}, t("receive.scan"), " ", h("input", { id: "receive-scan", placeholder: "HS…VN", autofocus: true })),
        h("button", { type: "button", class: "primary", id: "receive-confirm", onclick: confirmReceive }, t("receive.confirm")),
      );
  panel.replaceChildren(
    ...[
    h("h2", {}, `${t("receive.from")} ${handover.from.org || handover.from.kind} · `, h("span", { id: "receive-count" }, `${t("receive.progress")} ${count}/${manifest.length}`)),
    form,
    banner,
    h(
      "table",
      { class: "grid", id: "receive-items" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, t("col.item")), h("th", {}, t("col.state")))),
      h(
        "tbody",
        {},
        rows.map((r, i) =>
          h("tr", { class: `state-${r.state}`, dataset: { item: r.id, state: r.state } }, h("td", {}, String(i + 1)), h("td", { class: "mono" }, r.id), h("td", {}, t(`state.${r.state}`))),
        ),
      ),
    ),
    ].filter(Boolean),
  );
  document.getElementById("receive-scan")?.focus();
}

async function confirmReceive() {
  try {
    const result = await api(`handovers/${receiving.handover.id}/confirm`, { method: "POST", body: { scanned: receiving.scanned } });
    receiving = { handover: result, scanned: receiving.scanned, done: true };
    renderReceive();
    refreshSoon();
    loadIncomingHandovers();
  } catch (err) {
    toast(errorText(err), "error");
  }
}

// --- send a handover ------------------------------------------------------------------------------------

const outgoing = []; // [{id, status}]

async function loadDestinations() {
  const select = document.getElementById("send-to");
  if (select.options.length) return;
  const mine = user.organisation_code ? await api(`organisations/${encodeURIComponent(user.organisation_code)}`).catch(() => null) : null;
  const province = mine?.province_code || mine?.province || "";
  const kinds = ["post_office", "agency"];
  const lists = await Promise.all(kinds.map((k) => api(`organisations?kind=${k}${province ? `&province=${province}` : ""}&limit=500`).catch(() => [])));
  for (const list of lists) {
    const items = Array.isArray(list) ? list : list.items || [];
    for (const org of items) select.append(h("option", { value: org.code }, `${org.code} — ${org.name}`));
  }
}

async function scanSend(id) {
  if (outgoing.some((x) => x.id === id)) return;
  const row = { id, status: "…", ok: S10.test(id) };
  outgoing.push(row);
  renderSend();
  try {
    const page = await api(`dossiers?q=${encodeURIComponent(id)}&limit=1`);
    const d = page.items[0];
    row.status = d ? pick(d.status_label) : t("dossier.notfound");
    row.ok = Boolean(d);
  } catch (err) {
    row.status = errorText(err);
    row.ok = false;
  }
  renderSend();
}

function renderSend() {
  document.querySelector("#send-items tbody").replaceChildren(
    ...outgoing.map((row, i) =>
      h(
        "tr",
        { class: row.ok ? "" : "late", dataset: { item: row.id } },
        h("td", {}, String(i + 1)),
        h("td", { class: "mono" }, row.id),
        h("td", {}, row.status),
        h("td", {}, h("button", { type: "button", class: "ghost", onclick: () => { outgoing.splice(i, 1); renderSend(); } }, t("send.remove"))),
      ),
    ),
  );
}

document.getElementById("send-scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("send-scan");
  const id = normaliseId(input.value);
  input.value = "";
  if (id) scanSend(id);
});

document.getElementById("send-create").addEventListener("click", async () => {
  if (!outgoing.length) return toast(t("send.empty"), "warn");
  // The manifest window is opened now, inside the click, so pop-up blockers let it through.
  const win = window.open("about:blank", "_blank");
  try {
    const body = { to: document.getElementById("send-to").value, items: outgoing.map((x) => x.id) };
    const seal = document.getElementById("send-seal").value.trim();
    if (seal) body.seal_number = seal;
    const ho = await api("handovers", { method: "POST", body });
    toast(`${t("send.created")}: ${ho.items.length} ${t("receive.items")}`);
    document.getElementById("send-result").replaceChildren(
      h("a", { href: `/console/manifest#${ho.id}`, target: "_blank", id: "send-manifest" }, `${t("manifest.print")} (${ho.id.slice(0, 8)})`),
    );
    outgoing.length = 0;
    renderSend();
    refreshSoon();
    if (win) win.location.href = `/console/manifest#${ho.id}`;
  } catch (err) {
    win?.close();
    toast(errorText(err), "error");
  }
});

// --- book a home appointment ----------------------------------------------------------------------------

async function loadBooking() {
  const procSelect = document.getElementById("book-procedure");
  if (procSelect.options.length) return;
  const procs = await api("procedures?postal=true&limit=500");
  for (const p of procs.items || procs) procSelect.append(h("option", { value: p.code }, `${p.name} (${p.code})`));
  const mine = user.organisation_code ? await api(`organisations/${encodeURIComponent(user.organisation_code)}`).catch(() => null) : null;
  const province = mine?.province_code || "82";
  const communes = await api(`units/communes?province=${province}&limit=500`);
  const communeSelect = document.getElementById("book-commune");
  for (const c of communes.items || communes) {
    communeSelect.append(h("option", { value: c.code, dataset: { lat: c.lat, lon: c.lon }, selected: mine && c.code === mine.commune_code }, c.name));
  }
}

document.getElementById("book-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const commune = document.getElementById("book-commune").selectedOptions[0];
  const kind = document.getElementById("book-kind").value;
  const proc = document.getElementById("book-procedure").value;
  const box = document.getElementById("book-slots");
  box.replaceChildren(h("p", { class: "muted" }, "…"));
  document.getElementById("book-result").replaceChildren();
  try {
    const q = new URLSearchParams({ kind, lat: commune.dataset.lat, lon: commune.dataset.lon, procedure: proc, from: vnDate(0), to: vnDate(7) });
    const slots = await api(`slots?${q}`);
    const list = (slots.items || slots).filter((s) => s.remaining > 0);
    box.replaceChildren(
      ...(list.length
        ? list.map((s) =>
            h("button", { type: "button", class: "slot", onclick: () => book(s, commune) },
              h("b", {}, fmtTime(s.start)), ` – ${fmtTime(s.end, false)}`, h("br"), h("small", {}, `${s.post_office} · ${t("book.remaining")} ${s.remaining}`)),
          )
        : [h("p", { class: "muted" }, t("book.none"))]),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
});

async function book(slot, commune) {
  const body = {
    kind: slot.kind,
    start: slot.start,
    lat: Number(commune.dataset.lat),
    lon: Number(commune.dataset.lon),
    procedure: document.getElementById("book-procedure").value,
    address: `${document.getElementById("book-address").value}, ${commune.textContent}`,
    citizen_phone: document.getElementById("book-phone").value.trim(),
  };
  const note = document.getElementById("book-note").value.trim();
  if (note) body.note = note;
  try {
    const appt = await api("appointments", { method: "POST", body, headers: { "Idempotency-Key": crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) } });
    const fee = appt.fees?.amount_vnd ?? appt.fees?.total_vnd ?? appt.fees?.total;
    document.getElementById("book-result").replaceChildren(
      h("div", { class: "banner good", id: "book-done" }, `${t("book.booked")}: ${fmtTime(appt.start)} – ${fmtTime(appt.end, false)} · ${appt.post_office}`, fee !== undefined ? ` · ${t("book.fees")} ${money(fee)}` : ""),
    );
  } catch (err) {
    document.getElementById("book-result").replaceChildren(h("div", { class: "banner bad" }, errorText(err)));
  }
}

// --- tabs ----------------------------------------------------------------------------------------------

if (user) {
  document.addEventListener("langchange", () => {
    refreshList();
    setLive(document.getElementById("live").dataset.mode);
  });
  setLive("off");
  refreshCounts();
  document.querySelector(`.tile[data-view="${selectedView}"]`).classList.add("selected");
  refreshList();
  connectFeed();
  tabs((name, arg) => {
    if (name === "dossier") openDossier(arg);
    if (name === "receive") loadIncomingHandovers();
    if (name === "send") loadDestinations().catch((err) => toast(errorText(err), "error"));
    if (name === "book") loadBooking().catch((err) => toast(errorText(err), "error"));
    if (name === "report") renderReport();
    if (name !== "book" && name !== "report") document.getElementById("scan").focus();
  });
}

export { currentUser };
