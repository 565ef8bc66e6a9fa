// Form II.06a for a period: the table, a chart of on-time rate and postal share by month, the CSV file.
import { api, errorText, h, t, toast, token, vnDate } from "./common.js";
import { lineChart } from "./chart.js";

const COLUMNS = [
  ["received_total", "report.received"],
  ["received_online", "report.online"],
  ["received_direct_postal", "report.direct_postal"],
  ["carried_over", "report.carried"],
  ["resolved_total", "report.resolved"],
  ["resolved_early", "report.early"],
  ["resolved_on_time", "report.ontime"],
  ["resolved_late", "report.late"],
  ["in_progress_total", "report.inprog"],
  ["in_progress_within", "report.within"],
  ["in_progress_overdue", "report.overdue"],
  ["postal_pickup", "report.pickup"],
  ["postal_return", "report.return"],
  ["on_time_rate", "report.on_time"],
  ["postal_share", "report.postal"],
];

let wired = false;

function params() {
  return new URLSearchParams({
    from: document.getElementById("report-from").value,
    to: document.getElementById("report-to").value,
    group_by: document.getElementById("report-group").value,
  });
}

// Months [first day, last day] covering the period, clipped to it.
export function months(from, to) {
  const out = [];
  let [y, m] = from.split("-").map(Number);
  const [ty, tm] = to.split("-").map(Number);
  while (y < ty || (y === ty && m <= tm)) {
    const first = `${y}-${String(m).padStart(2, "0")}-01`;
    const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const last = `${y}-${String(m).padStart(2, "0")}-${String(lastDay).padStart(2, "0")}`;
    out.push({ label: `${String(m).padStart(2, "0")}/${y}`, from: first < from ? from : first, to: last > to ? to : last });
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
  return out;
}

function cell(key, value) {
  if (value === null || value === undefined) return "—";
  if (key.endsWith("_rate") || key.endsWith("_share")) return `${Number(value).toFixed(1)}%`;
  return String(value);
}

async function show() {
  const table = document.getElementById("report-table");
  table.replaceChildren(h("p", { class: "muted" }, "…"));
  try {
    const report = await api(`reports/dossiers?${params()}`);
    const rows = [...report.rows, report.total];
    table.replaceChildren(
      h(
        "table",
        { class: "grid report", id: "report-grid" },
        h("thead", {}, h("tr", {}, h("th", {}, t("report.group_col")), COLUMNS.map(([, label]) => h("th", {}, t(label))))),
        h(
          "tbody",
          {},
          rows.map((row, i) =>
            h("tr", { class: i === rows.length - 1 ? "total" : "" }, h("td", {}, row.name || row.group), COLUMNS.map(([key]) => h("td", { class: "num" }, cell(key, row[key])))),
          ),
        ),
      ),
    );
  } catch (err) {
    table.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
  const chart = document.getElementById("report-chart");
  const periods = months(document.getElementById("report-from").value, document.getElementById("report-to").value).slice(-24);
  try {
    const totals = await Promise.all(periods.map((p) => api(`reports/dossiers?from=${p.from}&to=${p.to}`).then((r) => r.total)));
    chart.replaceChildren(
      lineChart(
        periods.map((p) => p.label),
        [
          { name: t("report.on_time"), colour: "#1b7f3b", values: totals.map((x) => x.on_time_rate) },
          { name: t("report.postal"), colour: "#c0392b", values: totals.map((x) => x.postal_share) },
        ],
        t("report.nodata"),
      ),
    );
  } catch (err) {
    chart.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
}

async function downloadCsv() {
  try {
    const q = params();
    q.set("format", "csv");
    const response = await fetch(`/api/v1/reports/dossiers?${q}`, { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || `bao-cao-${q.get("from")}-${q.get("to")}.csv`;
    const link = h("a", { href: URL.createObjectURL(blob), download: name, class: "hidden" });
    document.body.append(link);
    link.click();
    setTimeout(() => {
      URL.revokeObjectURL(link.href);
      link.remove();
    }, 1000);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

export function renderReport() {
  if (wired) return;
  wired = true;
  const today = vnDate(0);
  const from = document.getElementById("report-from");
  const to = document.getElementById("report-to");
  const [y, m] = today.split("-").map(Number);
  const start = new Date(Date.UTC(y, m - 6, 1)); // the last six months
  from.value = `${start.getUTCFullYear()}-${String(start.getUTCMonth() + 1).padStart(2, "0")}-01`;
  to.value = today;
  document.getElementById("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  document.getElementById("report-csv").addEventListener("click", downloadCsv);
  show();
}
