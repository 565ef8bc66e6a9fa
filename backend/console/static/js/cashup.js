// The post office's cash-up screen (issue 21): each courier's cash and cash-up for a day, the dispatcher's
// confirmation (counter-signature) and closing the day. Talks to /post-offices/{code}/cashups and /cashups/{id}.
import { api, errorText, fmtTime, h, money, startPage, toast, vnDate } from "./common.js";
import { lang } from "./i18n.js";

const user = startPage(["dispatcher", "admin"]);
const office = user ? new URLSearchParams(location.search).get("office") || user.organisation_code : null;

// Vietnamese first, English when chosen.
const TEXT = {
  courier: ["Bưu tá", "Courier"],
  held: ["Đang giữ", "Holding"],
  collected: ["Thu trong ngày", "Collected"],
  expected: ["Phải nộp", "Expected"],
  counted: ["Đã đếm", "Counted"],
  diff: ["Chênh lệch", "Difference"],
  note: ["Ghi chú", "Note"],
  status: ["Trạng thái", "Status"],
  none: ["Chưa kết toán", "Not cashed up"],
  pending: ["Chờ bưu cục ký", "Awaiting the office"],
  confirmed: ["Đã ký hai bên", "Signed by both"],
  confirm: ["Ký xác nhận", "Confirm"],
  confirmedToast: ["Đã xác nhận kết toán", "Cash-up confirmed"],
  open: ["Chưa đóng được ngày", "The day cannot close yet"],
  closable: ["Có thể đóng ngày", "The day can close"],
  closed: ["Đã đóng ngày", "The day is closed"],
  empty: ["Không có bưu tá", "No couriers"],
};
const tr = (key) => TEXT[key][lang() === "en" ? 1 : 0];

const dayInput = document.getElementById("cashup-day");

function row(c) {
  const cu = c.cashup;
  const status = cu ? tr(cu.status) : tr("none");
  const action =
    cu && cu.status === "pending"
      ? h("button", { type: "button", class: "primary", "data-confirm": cu.id, onclick: () => confirm(cu.id) }, tr("confirm"))
      : null;
  return h(
    "tr",
    { "data-courier": c.courier_id, "data-status": cu ? cu.status : "none" },
    h("td", {}, c.courier_name || c.courier_id),
    h("td", { class: "num" }, money(c.cash_held_vnd)),
    h("td", { class: "num" }, money(c.collected_vnd)),
    h("td", { class: "num" }, cu ? money(cu.expected_cash_vnd) : "—"),
    h("td", { class: "num" }, cu ? money(cu.counted_cash_vnd) : "—"),
    h("td", { class: cu && cu.discrepancy_vnd ? "num error" : "num", "data-diff": cu ? cu.discrepancy_vnd : "" }, cu ? money(cu.discrepancy_vnd) : "—"),
    h("td", {}, cu && cu.note ? cu.note : ""),
    h("td", {}, status, cu && cu.dispatcher_signed_at ? h("small", { class: "muted" }, ` ${fmtTime(cu.dispatcher_signed_at)}`) : null),
    h("td", {}, action),
  );
}

async function load() {
  const box = document.getElementById("cashup-table");
  try {
    const day = await api(`post-offices/${encodeURIComponent(office)}/cashups?day=${dayInput.value}`);
    document.getElementById("cashup-safe").textContent = money(day.office_cash_vnd);
    const state = document.getElementById("cashup-state");
    state.textContent = day.closable ? tr("closable") : tr("open");
    state.dataset.closable = String(day.closable);
    const head = ["courier", "held", "collected", "expected", "counted", "diff", "note", "status"].map((k) => h("th", {}, tr(k)));
    box.replaceChildren(
      day.couriers.length
        ? h("table", { class: "grid", id: "cashup-rows" }, h("thead", {}, h("tr", {}, head, h("th"))), h("tbody", {}, day.couriers.map(row)))
        : h("p", { class: "muted" }, tr("empty")),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
}

async function confirm(id) {
  try {
    await api(`cashups/${id}/confirm`, { method: "POST", body: {} });
    toast(tr("confirmedToast"));
  } catch (err) {
    toast(errorText(err), "error");
  }
  await load();
}

async function closeDay() {
  try {
    await api(`post-offices/${encodeURIComponent(office)}/cashups/close?day=${dayInput.value}`, { method: "POST" });
    toast(tr("closed"));
    document.getElementById("cashup-state").textContent = tr("closed");
  } catch (err) {
    toast(errorText(err), "error");
  }
}

if (user) {
  dayInput.value = vnDate();
  dayInput.addEventListener("change", load);
  document.getElementById("cashup-reload").addEventListener("click", load);
  document.getElementById("cashup-close").addEventListener("click", closeDay);
  document.addEventListener("langchange", load);
  load();
}
