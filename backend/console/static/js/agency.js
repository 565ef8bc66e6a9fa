// The deciding agency (issue 23): dossiers incoming from desks, receive by scan, the legal clock, record the
// decision (result ready / supplement needed / refusal) through POST /dossiers/{id}/events, hand results back
// to the desk (POST /handovers), due-soon and overdue lists. Reads GET /console/agency/dossiers.
import { api, fmtTime, h, startPage, toast } from "./common.js";
import { lang, pick } from "./i18n.js";

const user = startPage(["agency", "admin"]);
const LISTS = ["incoming", "processing", "supplement", "decided", "due_soon", "overdue"];
let selected = "incoming";
let current = []; // the rows shown
const chosen = new Set(); // decided rows picked for hand-back

// Vietnamese first, English when chosen.
const TEXT = {
  scan: ["Quét mã hồ sơ để nhận + Enter", "Scan an item id to receive it + Enter"],
  incoming: ["Đang đến từ Một cửa", "Incoming from desks"],
  processing: ["Đang giải quyết", "Processing"],
  supplement: ["Chờ bổ sung", "Waiting for supplements"],
  decided: ["Đã quyết định, chờ trả", "Decided, to hand back"],
  due_soon: ["Đến hạn trong 2 ngày làm việc", "Due within 2 working days"],
  overdue: ["Quá hạn", "Overdue"],
  item: ["Mã hồ sơ", "Item"],
  procedure: ["Thủ tục", "Procedure"],
  applicant: ["Người nộp", "Applicant"],
  desk: ["Một cửa", "Desk"],
  sent: ["Gửi lúc", "Sent"],
  deadline: ["Thời hạn luật định", "Legal deadline"],
  due: ["Hạn trả", "Due"],
  left: ["Còn lại", "Left"],
  status: ["Trạng thái", "Status"],
  actions: ["Thao tác", "Actions"],
  days: ["ngày làm việc", "working days"],
  overdueBy: ["quá hạn", "overdue by"],
  paused: ["tạm dừng", "paused"],
  empty: ["Không có hồ sơ.", "No dossiers."],
  updated: ["cập nhật", "updated"],
  received: ["Đã nhận hồ sơ", "Received"],
  remaining: ["còn trong lô", "left on the handover"],
  complete: ["đã nhận đủ lô", "handover complete"],
  approve: ["Có kết quả", "Result ready"],
  needSupplement: ["Yêu cầu bổ sung", "Supplement needed"],
  refuse: ["Từ chối", "Refuse"],
  supplementIn: ["Đã nhận bổ sung", "Supplement received"],
  approveTitle: ["Ghi nhận kết quả giải quyết", "Record the result"],
  supplementTitle: ["Yêu cầu bổ sung hồ sơ", "Ask for a supplement"],
  refuseTitle: ["Từ chối giải quyết", "Refuse"],
  agencyCode: ["Số hồ sơ/văn bản của cơ quan (không bắt buộc)", "The agency's own number (optional)"],
  missingPick: ["Giấy tờ còn thiếu", "Missing documents"],
  missingOther: ["Giấy tờ khác (mỗi dòng một loại)", "Other documents (one per line)"],
  reason: ["Lý do từ chối (bắt buộc)", "Reason for the refusal (required)"],
  reasonRequired: ["Cần ghi lý do từ chối", "A reason is required"],
  missingRequired: ["Cần chọn hoặc ghi ít nhất một giấy tờ", "Pick or write at least one document"],
  submit: ["Ghi nhận", "Record"],
  cancel: ["Hủy", "Cancel"],
  recorded: ["Đã ghi nhận", "Recorded"],
  approved: ["Có kết quả", "Approved"],
  refused: ["Từ chối", "Refused"],
  withdrawn: ["Công dân rút hồ sơ", "Withdrawn"],
  waitingDesk: ["Đã gửi, chờ Một cửa nhận", "Sent, waiting for the desk"],
  handedBack: ["Đã tạo lô trả về", "Handover back created"],
  pickFirst: ["Chọn hồ sơ cần trả", "Pick the dossiers to hand back"],
  manifest: ["In biên bản", "Print the manifest"],
  missing: ["Thiếu", "Missing"],
};
const tr = (key) => TEXT[key][lang() === "en" ? 1 : 0];

// A problem's own text, in the chosen language: details are "Vietnamese / English".
function problemText(err) {
  const body = err && err.body;
  if (!body) return `${err.message || err}`;
  const detail = String(body.detail || body.title || "");
  const cut = detail.indexOf(" / ");
  const text = cut < 0 ? detail : lang() === "en" ? detail.slice(cut + 3) : detail.slice(0, cut);
  return body.code ? `${text} (${body.code})` : text;
}

function normaliseId(raw) {
  return raw.trim().toUpperCase().replace(/\s+/g, "");
}

// --- lists -----------------------------------------------------------------------------------------------

function leftCell(d) {
  if (d.working_days_left === null || d.working_days_left === undefined) return "—";
  const n = d.working_days_left;
  let text = n < 0 ? `${tr("overdueBy")} ${-n} ${tr("days")}` : `${n} ${tr("days")}`;
  if (n >= 0 && d.timeliness === "overdue") text = tr("overdueBy"); // past the due instant, same working day
  return d.paused_at ? `${text} (${tr("paused")})` : text;
}

function outcomeText(d) {
  if (!d.outcome) return pick(d.status_label);
  return [tr(d.outcome), d.decision_reason ? ` — ${d.decision_reason}` : ""].join("");
}

function actions(d) {
  const act = (key, kind) =>
    h("button", { type: "button", class: kind === "approve" ? "primary" : "", dataset: { act: kind }, onclick: () => openDecide(d, kind) }, tr(key));
  if (selected === "incoming") return [];
  if (d.status === "processing") return [act("approve", "approve"), act("needSupplement", "supplement"), act("refuse", "refuse")];
  if (d.status === "awaiting_supplement") return [act("supplementIn", "resume")];
  if ((d.status === "resolved" || d.status === "withdrawn") && !d.handover_id) {
    return [
      h("input", {
        type: "checkbox",
        "aria-label": d.item_id,
        dataset: { pick: d.item_id },
        checked: chosen.has(d.item_id),
        onchange: (event) => (event.target.checked ? chosen.add(d.item_id) : chosen.delete(d.item_id)),
      }),
    ];
  }
  if (d.handover_id) return [h("small", { class: "muted" }, tr("waitingDesk"))];
  return [];
}

function row(d) {
  const late = d.timeliness === "overdue" || (d.working_days_left !== null && d.working_days_left < 0);
  const incoming = selected === "incoming";
  return h(
    "tr",
    { class: late ? "late" : null, dataset: { item: d.item_id, status: d.status } },
    h("td", { class: "mono" }, d.item_id),
    h("td", { title: d.procedure || "" }, d.procedure_name || d.procedure || "—"),
    h("td", { class: "applicant" }, d.applicant_name || "—"),
    h("td", { title: d.desk?.code || "" }, d.desk?.name || "—"),
    incoming ? h("td", {}, fmtTime(d.sent_at)) : h("td", {}, d.processing_days !== null ? `${d.processing_days} ${tr("days")}` : "—"),
    h("td", {}, fmtTime(d.due_at)),
    h("td", { class: "left", dataset: { left: d.working_days_left ?? "" } }, incoming ? "—" : leftCell(d)),
    h("td", { class: "status" }, outcomeText(d), d.missing_documents?.length && d.status !== "processing" ? h("small", { class: "muted" }, ` · ${tr("missing")}: ${d.missing_documents.join(", ")}`) : null),
    h("td", { class: "actions" }, actions(d)),
  );
}

async function refresh() {
  document.getElementById("list-title").textContent = tr(selected);
  const head = ["item", "procedure", "applicant", "desk", selected === "incoming" ? "sent" : "deadline", "due", "left", "status", "actions"];
  document.querySelector("#list thead").replaceChildren(h("tr", {}, head.map((k) => h("th", {}, tr(k)))));
  document.getElementById("handback-bar").classList.toggle("hidden", selected !== "decided");
  try {
    const page = await api(`console/agency/dossiers?list=${selected}&limit=200`);
    current = page.items;
    for (const name of LISTS) document.getElementById(`count-${name}`).textContent = String(page.counts[name]);
    const body = document.querySelector("#list tbody");
    body.replaceChildren(...(current.length ? current.map(row) : [h("tr", {}, h("td", { colspan: 9, class: "muted" }, tr("empty")))]));
    body.dataset.list = selected;
    document.getElementById("list-updated").textContent = `${tr("updated")} ${fmtTime(page.as_of, false)}`;
  } catch (err) {
    toast(problemText(err), "error");
  }
}

function show(name) {
  selected = name;
  chosen.clear();
  document.querySelectorAll(".tile").forEach((x) => x.classList.toggle("selected", x.dataset.view === name));
  closeDecide();
  return refresh();
}

for (const tile of document.querySelectorAll(".tile")) tile.addEventListener("click", () => show(tile.dataset.view));

// --- receive by scan -------------------------------------------------------------------------------------

function banner(kind, ...children) {
  const box = document.getElementById("scan-result");
  box.className = `banner ${kind}`;
  box.dataset.kind = kind;
  box.replaceChildren(...children);
}

document.getElementById("scan-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("scan");
  const id = normaliseId(input.value);
  input.value = "";
  if (!id) return;
  try {
    const res = await api("console/agency/receive", { method: "POST", body: { item_id: id } });
    const d = res.dossier;
    banner(
      "good",
      `${tr("received")} `,
      h("b", { class: "mono" }, d.item_id),
      ` · ${d.procedure_name || ""} · ${d.applicant_name || ""} · ${tr("due")} ${fmtTime(d.due_at)} · `,
      res.handover_complete ? tr("complete") : `${res.remaining} ${tr("remaining")}`,
    );
  } catch (err) {
    banner("bad", h("b", { class: "mono" }, id), `: ${problemText(err)}`);
  }
  await refresh();
  input.focus();
});

// --- decide ----------------------------------------------------------------------------------------------

function closeDecide() {
  const panel = document.getElementById("decide");
  panel.classList.add("hidden");
  panel.replaceChildren();
}

async function procedureDocuments(code) {
  if (!code) return [];
  try {
    const proc = await api(`procedures/${encodeURIComponent(code)}`);
    return (proc.documents || []).map((doc) => doc.name);
  } catch {
    return [];
  }
}

async function openDecide(d, kind) {
  if (kind === "resume") return record(d, { code: "TNB" });
  const panel = document.getElementById("decide");
  const title = { approve: "approveTitle", supplement: "supplementTitle", refuse: "refuseTitle" }[kind];
  const fields = [];
  if (kind === "approve") fields.push(h("label", {}, tr("agencyCode"), h("input", { id: "decide-code", maxlength: 60 })));
  if (kind === "supplement") {
    const docs = await procedureDocuments(d.procedure);
    fields.push(
      h("p", {}, h("b", {}, tr("missingPick"))),
      h("ul", { class: "docs", id: "decide-docs" }, docs.map((name) => h("li", {}, h("label", {}, h("input", { type: "checkbox", value: name }), ` ${name}`)))),
      h("label", {}, tr("missingOther"), h("textarea", { id: "decide-other", rows: 3, maxlength: 2000 })),
    );
  }
  if (kind === "refuse") fields.push(h("label", {}, tr("reason"), h("textarea", { id: "decide-reason", rows: 3, maxlength: 300 })));
  panel.replaceChildren(
    h("h2", {}, tr(title)),
    h("p", {}, h("b", { class: "mono", id: "decide-item" }, d.item_id), h("br"), d.procedure_name || "", h("br"), h("span", { class: "muted" }, d.applicant_name || "")),
    ...fields,
    h("p", { class: "error hidden", id: "decide-error", role: "alert" }),
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "primary", id: "decide-submit", onclick: () => submitDecide(d, kind) }, tr("submit")),
      h("button", { type: "button", class: "ghost", onclick: closeDecide }, tr("cancel")),
    ),
  );
  panel.dataset.kind = kind;
  panel.classList.remove("hidden");
}

function decideError(text) {
  const el = document.getElementById("decide-error");
  el.textContent = text;
  el.classList.remove("hidden");
}

function submitDecide(d, kind) {
  if (kind === "approve") {
    const own = document.getElementById("decide-code").value.trim();
    return record(d, { code: "TKQ", outcome: "approved", ...(own ? { agency_code: own } : {}) });
  }
  if (kind === "supplement") {
    const picked = [...document.querySelectorAll("#decide-docs input:checked")].map((x) => x.value);
    const other = document.getElementById("decide-other").value.split("\n").map((x) => x.trim()).filter(Boolean);
    const missing = [...picked, ...other];
    if (!missing.length) return decideError(tr("missingRequired"));
    return record(d, { code: "TBS", missing_documents: missing });
  }
  const reason = document.getElementById("decide-reason").value.trim();
  // A refusal is returned with its reason in writing (the one-stop mechanism, Decree 118/2025/NĐ-CP); the API
  // does not require one yet, so the console does.
  if (!reason) return decideError(tr("reasonRequired"));
  return record(d, { code: "TKQ", outcome: "refused", reason });
}

async function record(d, body) {
  try {
    await api(`dossiers/${encodeURIComponent(d.item_id)}/events`, { method: "POST", body });
    toast(`${tr("recorded")}: ${d.item_id}`);
    closeDecide();
  } catch (err) {
    if (document.getElementById("decide-error")) decideError(problemText(err));
    else toast(problemText(err), "error");
  }
  await refresh();
}

// --- hand back -------------------------------------------------------------------------------------------

document.getElementById("handback").addEventListener("click", async () => {
  const picked = current.filter((d) => chosen.has(d.item_id) && d.desk);
  if (!picked.length) return toast(tr("pickFirst"), "warn");
  const byDesk = new Map();
  for (const d of picked) byDesk.set(d.desk.code, [...(byDesk.get(d.desk.code) || []), d.item_id]);
  const links = [];
  for (const [desk, items] of byDesk) {
    try {
      const ho = await api("handovers", { method: "POST", body: { to: desk, items } });
      links.push(h("a", { href: `/console/manifest#${ho.id}`, target: "_blank", class: "handback-link", dataset: { handover: ho.id } }, `${tr("manifest")} · ${desk} (${items.length})`), " ");
    } catch (err) {
      toast(problemText(err), "error");
    }
  }
  if (links.length) toast(tr("handedBack"));
  document.getElementById("handback-result").replaceChildren(...links);
  chosen.clear();
  await refresh();
});

// --- start -----------------------------------------------------------------------------------------------

function applyTexts() {
  document.getElementById("scan").placeholder = tr("scan");
}

if (user) {
  applyTexts();
  document.addEventListener("langchange", () => {
    applyTexts();
    refresh();
  });
  show(selected);
  document.getElementById("scan").focus();
  setInterval(() => {
    if (document.getElementById("decide").classList.contains("hidden") && !chosen.size) refresh();
  }, 30000);
}
