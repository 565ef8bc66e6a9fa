// Complaints (phản ánh, kiến nghị; issue 23) for the staff of organisations that handle them (post offices'
// dispatchers, one-stop desks, agencies) and admins: lists by state with the answer deadline in working days
// (overdue rows highlighted), and on a complaint: classify and assign it to the responsible organisation with
// its deadline, answer it, close it. Every action is the API's: /complaints, /complaints/{id}/{assign,answer,close}.
import { API, api, errorText, fmtTime, h, startPage, toast } from "./common.js";
import { lang } from "./i18n.js";

const user = startPage(["dispatcher", "desk", "agency", "admin"]);

const TEXT = {
  filed: ["Ngày nhận", "Filed"],
  category: ["Loại", "Category"],
  subject: ["Về", "About"],
  receivedBy: ["Nơi tiếp nhận", "Received by"],
  org: ["Đơn vị giải quyết", "Responsible"],
  due: ["Hạn trả lời", "Answer due"],
  status: ["Trạng thái", "Status"],
  workingDays: ["ngày làm việc", "working days"],
  overdue: ["quá hạn", "overdue"],
  text: ["Nội dung", "Text"],
  steps: ["Các bước", "Steps"],
  classify: ["Phân loại và giao xử lý", "Classify and assign"],
  orgCode: ["Mã đơn vị chịu trách nhiệm", "Responsible organisation's code"],
  days: ["Số ngày làm việc để trả lời", "Working days to answer"],
  assign: ["Giao xử lý", "Assign"],
  answer: ["Trả lời", "Answer"],
  answerText: ["Nội dung trả lời", "The answer"],
  close: ["Đóng phản ánh", "Close the complaint"],
  assigned: ["Đã giao xử lý", "Assigned"],
  answered: ["Đã trả lời", "Answered"],
  closed: ["Đã đóng", "Closed"],
  none: ["Không có phản ánh nào", "No complaints"],
  answerShown: ["Câu trả lời", "Answer"],
};
const tr = (key) => TEXT[key][lang() === "en" ? 1 : 0];
const CATEGORIES = {
  attitude: ["Thái độ, tác phong", "Attitude, conduct"],
  lateness: ["Chậm trễ, sai hẹn", "Late or missed appointment"],
  fees: ["Thu phí không đúng", "Wrong fees charged"],
  lost_or_damaged: ["Thất lạc, hư hỏng hồ sơ", "Dossier lost or damaged"],
  wrong_result: ["Kết quả sai, thiếu", "Wrong or incomplete result"],
  procedure: ["Quy định, thủ tục hành chính", "An administrative rule or procedure"],
  other: ["Khác", "Other"],
};
const STATUS = {
  received: ["Mới tiếp nhận", "Received"],
  assigned: ["Đang giải quyết", "Assigned"],
  answered: ["Đã trả lời", "Answered"],
  closed: ["Đã đóng", "Closed"],
};
const SUBJECTS = {
  visit: ["Lượt đến nhà", "A visit"],
  courier: ["Bưu tá", "A courier"],
  dossier: ["Hồ sơ", "A dossier"],
  desk: ["Bộ phận Một cửa", "A one-stop desk"],
};
const VIEWS = ["received", "assigned", "overdue", "answered", "closed"];
const pick = (pair) => pair[lang() === "en" ? 1 : 0];
let view = location.hash.slice(1) || "received";

function query(name, limit) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (name === "overdue") q.set("overdue", "true");
  else q.set("status", name);
  return `${API}/complaints?${q}`;
}

async function counts() {
  for (const name of VIEWS) {
    const page = await api(query(name, 1));
    document.getElementById(`count-${name}`).textContent = String(page.total);
  }
}

function dueCell(c) {
  if (!c.due_on) return "—";
  const days = c.deadline_days ? ` (${c.deadline_days} ${tr("workingDays")})` : "";
  return `${c.due_on}${days}${c.overdue ? ` · ${tr("overdue")}` : ""}`;
}

async function list() {
  for (const tile of document.querySelectorAll(".tile")) tile.classList.toggle("selected", tile.dataset.view === view);
  const label = document.querySelector(`.tile[data-view='${view}'] .label`);
  document.getElementById("list-title").textContent = label ? label.textContent : view;
  const page = await api(query(view, 100));
  const table = document.getElementById("list");
  table.tHead.replaceChildren(
    h("tr", {}, [tr("filed"), tr("category"), tr("subject"), tr("receivedBy"), tr("org"), tr("due"), tr("status")].map((x) => h("th", {}, x))),
  );
  const rows = page.items.map((c) =>
    h(
      "tr",
      { "data-id": c.id, class: c.overdue ? "overdue clickable" : "clickable", onclick: () => detail(c.id) },
      h("td", {}, fmtTime(c.created_at)),
      h("td", {}, pick(CATEGORIES[c.category] || [c.category, c.category])),
      h("td", {}, c.item_id || pick(SUBJECTS[c.subject] || [c.subject, c.subject])),
      h("td", {}, c.received_by || "—"),
      h("td", {}, c.org || "—"),
      h("td", { class: "due" }, dueCell(c)),
      h("td", {}, pick(STATUS[c.status] || [c.status, c.status])),
    ),
  );
  table.tBodies[0].replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: "7", class: "muted" }, tr("none")))]));
  document.getElementById("list-updated").textContent = fmtTime(new Date().toISOString());
}

async function act(id, path, body, done) {
  try {
    await api(`${API}/complaints/${id}/${path}`, { method: "POST", body });
    toast(tr(done), "ok");
    await refresh();
    await detail(id);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

function assignForm(c) {
  const category = h(
    "select",
    { id: "c-category", "aria-label": tr("category") },
    ...Object.entries(CATEGORIES).map(([key, names]) => h("option", { value: key, ...(key === c.category ? { selected: "" } : {}) }, pick(names))),
  );
  const org = h("input", { id: "c-org", value: c.org || c.received_by || "", maxlength: "32", "aria-label": tr("orgCode") });
  const days = h("input", { id: "c-days", type: "number", min: "1", max: "30", value: String(c.deadline_days || 10), "aria-label": tr("days") });
  const form = h(
    "form",
    { id: "assign-form" },
    h("h3", {}, tr("classify")),
    h("label", {}, tr("category"), category),
    h("label", {}, tr("orgCode"), org),
    h("label", {}, tr("days"), days),
    h("button", { type: "submit", class: "primary", id: "c-assign" }, tr("assign")),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(c.id, "assign", { org: org.value.trim(), category: category.value, deadline_days: Number(days.value) }, "assigned");
  });
  return form;
}

function answerForm(c) {
  const text = h("textarea", { id: "c-answer-text", rows: "4", maxlength: "2000", "aria-label": tr("answerText") });
  const form = h("form", { id: "answer-form" }, h("h3", {}, tr("answer")), text, h("button", { type: "submit", class: "primary", id: "c-answer" }, tr("answer")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(c.id, "answer", { answer: text.value.trim() }, "answered");
  });
  return form;
}

async function detail(id) {
  const box = document.getElementById("detail");
  let c;
  try {
    c = await api(`${API}/complaints/${id}`);
  } catch (err) {
    toast(errorText(err), "error");
    return;
  }
  const parts = [
    h("h2", {}, pick(CATEGORIES[c.category] || [c.category, c.category])),
    h("p", { class: "muted", id: "c-status", "data-status": c.status }, `${pick(STATUS[c.status])} · ${tr("due")}: ${dueCell(c)}`),
    h("p", {}, h("strong", {}, `${tr("text")}: `), c.text),
  ];
  if (c.answer) parts.push(h("p", { id: "c-answer-shown" }, h("strong", {}, `${tr("answerShown")}: `), c.answer));
  parts.push(h("h3", {}, tr("steps")), h("ul", { id: "c-steps" }, ...c.events.map((e) => h("li", {}, `${fmtTime(e.at)} · ${e.type} · ${e.actor_role}`))));
  if (c.status === "received" || c.status === "assigned") parts.push(assignForm(c));
  if (c.status === "assigned") parts.push(answerForm(c));
  if (c.status === "answered") {
    const close = h("button", { type: "button", id: "c-close" }, tr("close"));
    close.addEventListener("click", () => act(c.id, "close", undefined, "closed"));
    parts.push(close);
  }
  box.dataset.id = c.id;
  box.replaceChildren(...parts);
  box.classList.remove("hidden");
}

async function refresh() {
  await counts();
  await list();
}

if (user) {
  for (const tile of document.querySelectorAll(".tile")) {
    tile.addEventListener("click", () => {
      view = tile.dataset.view;
      location.hash = view;
      list().catch((err) => toast(errorText(err), "error"));
    });
  }
  refresh()
    .then(() => {
      document.body.dataset.loaded = "yes";
    })
    .catch((err) => toast(errorText(err), "error"));
}
