// The post-office dispatcher: plan a day's routes, watch the solve, see the map, publish; move a stop to
// another courier or place and pin it (checked at once by the API); during the day, couriers' last positions
// and progress with late stops highlighted, and re-plan.
import { api, errorText, fmtTime, h, startPage, t, tabs, toast, token, vnDate } from "./common.js";

const user = startPage(["dispatcher", "admin"]);
const office = user?.organisation_code;
let plan = null;
let pollTimer = null;

function statusText(status) {
  return t(`plan.status.${status}`);
}

async function loadPlans(selectId) {
  const day = document.getElementById("plan-date").value;
  const plans = await api(`post-offices/${encodeURIComponent(office)}/plans?date=${day}`);
  const select = document.getElementById("plan-list");
  select.replaceChildren(
    ...plans.map((p) => h("option", { value: p.id, selected: p.id === selectId }, `${fmtTime(p.created_at, false)} · ${statusText(p.status)}`)),
  );
  if (!plans.length) {
    plan = null;
    renderPlan();
  } else {
    showPlan(selectId || plans[0].id);
  }
}

async function showPlan(id) {
  clearTimeout(pollTimer);
  try {
    plan = await api(`plans/${id}`);
  } catch (err) {
    toast(errorText(err), "error");
    return;
  }
  renderPlan();
  const option = document.querySelector(`#plan-list option[value="${id}"]`);
  if (option) option.textContent = `${fmtTime(plan.created_at, false)} · ${statusText(plan.status)}`;
  if (plan.status === "queued" || plan.status === "running") pollTimer = setTimeout(() => showPlan(id), 1500);
  else if (plan.status !== "failed") loadMap(id);
}

async function loadMap(id) {
  const box = document.getElementById("plan-map");
  try {
    const response = await fetch(`/api/v1/plans/${id}/map.svg`, { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const blob = await response.blob();
    box.replaceChildren(h("img", { src: URL.createObjectURL(blob), alt: t("plan.map"), id: "plan-map-img" }));
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
}

function windowText(w) {
  if (!w) return "—";
  return `${fmtTime(w.start, false)}–${fmtTime(w.end, false)}`;
}

function isLate(stop) {
  if (!stop.window?.end || stop.status === "done" || stop.status === "failed") return false;
  return new Date(stop.eta) > new Date(stop.window.end) || (plan.status === "published" && Date.now() > new Date(stop.window.end));
}

function renderPlan() {
  const status = document.getElementById("plan-status");
  const progress = document.getElementById("plan-progress");
  const publish = document.getElementById("plan-publish");
  const replan = document.getElementById("plan-replan");
  if (!plan) {
    status.textContent = t("plan.none");
    progress.classList.add("hidden");
    publish.disabled = true;
    replan.disabled = true;
    for (const id of ["plan-summary", "plan-routes", "plan-unassigned", "plan-map"]) document.getElementById(id).replaceChildren();
    return;
  }
  status.replaceChildren(h("span", { class: `badge plan-${plan.status}`, id: "plan-state" }, statusText(plan.status)), plan.error ? ` ${plan.error}` : "");
  progress.value = plan.progress;
  progress.classList.toggle("hidden", !(plan.status === "queued" || plan.status === "running"));
  publish.disabled = plan.status !== "done";
  replan.disabled = !(plan.status === "published" || plan.status === "done");
  const s = plan.summary || {};
  document.getElementById("plan-summary").replaceChildren(
    h(
      "p",
      {},
      `${s.stops_assigned ?? 0}/${s.stops_total ?? 0} ${t("plan.stops")} · ${s.couriers_used ?? 0}/${s.couriers_available ?? 0} ${t("plan.couriers")} · `,
      `${t("plan.distance")} ${s.distance_km ?? 0} km · ${t("plan.travel")} ${s.travel_min ?? 0} min`,
    ),
  );
  document.getElementById("plan-routes").replaceChildren(
    ...(plan.routes || []).map((r) =>
      h(
        "details",
        { open: true, class: "route" },
        h("summary", {}, h("span", { class: "swatch", style: `background:${r.colour}` }), ` ${r.courier.name || r.courier.username} · ${r.stops.length} ${t("plan.stops")} · ${fmtTime(r.start_at, false)}–${fmtTime(r.end_at, false)} · ${(r.distance_m / 1000).toFixed(1)} km · v${r.version ?? 1}`),
        h(
          "table",
          { class: "grid compact" },
          h("thead", {}, h("tr", {}, ["plan.seq", "plan.kind", "col.item", "plan.window", "plan.eta", "plan.load", "col.status", "plan.control"].map((k) => h("th", {}, t(k))))),
          h(
            "tbody",
            {},
            r.stops.map((st, i) =>
              h(
                "tr",
                { class: `${isLate(st) ? "late" : ""}${st.pinned ? " pinned" : ""}`, "data-stop": st.id },
                h("td", {}, String(st.seq)),
                h("td", {}, st.visit && r.stops[i - 1]?.visit === st.visit ? `↳ ${st.kind}` : st.kind, st.visit ? h("span", { class: "badge", title: t("plan.visit.help") }, ` ${t("plan.visit")}`) : ""),
                h("td", { class: "mono" }, st.dossier || st.result_item || st.place || (st.appointment_id ? `#${String(st.appointment_id).slice(0, 8)}` : "—")),
                h("td", {}, windowText(st.window)),
                h("td", {}, fmtTime(st.eta, false)),
                h("td", {}, `${st.load.items}${r.capacity.items ? `/${r.capacity.items}` : ""}`),
                h("td", {}, st.status),
                h("td", {}, controls(r, st, i)),
              ),
            ),
          ),
        ),
      ),
    ),
  );
  const un = plan.unassigned || [];
  document.getElementById("plan-unassigned").replaceChildren(
    un.length
      ? h(
          "table",
          { class: "grid compact", id: "unassigned" },
          h("thead", {}, h("tr", {}, ["plan.kind", "col.item", "plan.window", "plan.reason"].map((k) => h("th", {}, t(k))))),
          h("tbody", {}, un.map((u) => h("tr", {}, h("td", {}, u.kind), h("td", { class: "mono" }, u.dossier || u.result_item || u.place || "—"), h("td", {}, windowText(u.window)), h("td", { title: u.reason }, u.detail || u.reason)))),
        )
      : h("p", { class: "muted" }, "—"),
  );
}

// --- a dispatcher's hand on the stops: move up/down, to another courier, pin (issue 20) ---------------------

const OPEN = ["planned", "started"];

// The route's open stops as visits (a household visit's items together): positions the API counts in.
function openVisits(route) {
  const out = [];
  for (const st of route.stops) {
    if (!OPEN.includes(st.status)) continue;
    if (st.visit && out.length && out[out.length - 1][0].visit === st.visit) out[out.length - 1].push(st);
    else out.push([st]);
  }
  return out;
}

function violationsText(body) {
  const list = body?.violations || [];
  return list.map((v) => `${t(`plan.rule.${v.rule}`)}${v.amount ? ` (${v.amount})` : ""}`).join("; ");
}

async function control(stop, path, body) {
  try {
    await api(`plan-stops/${stop.id}/${path}`, { method: "POST", body });
    toast(t("plan.changed"));
  } catch (err) {
    const why = violationsText(err.body);
    toast(why ? `${errorText(err)} — ${why}` : errorText(err), "error");
  }
  await showPlan(plan.id);
}

function controls(route, st, i) {
  const editable = plan.status === "done" || plan.status === "published";
  if (!editable || (st.visit && route.stops[i - 1]?.visit === st.visit)) return "";
  const visits = openVisits(route);
  const pos = visits.findIndex((v) => v[0].id === st.id) + 1;
  const pin = h("button", { type: "button", class: "stop-pin", "data-stop": st.id, title: t("plan.pin.help") }, st.pinned ? t("plan.unpin") : t("plan.pin"));
  pin.addEventListener("click", () => control(st, st.pinned ? "unpin" : "pin", {}));
  if (st.status !== "planned" || pos < 1) return h("span", {}, pin);
  const up = h("button", { type: "button", class: "stop-up", "data-stop": st.id, disabled: pos <= 1, title: t("plan.up") }, "↑");
  up.addEventListener("click", () => control(st, "move", { position: pos - 1, route_version: route.version }));
  const down = h("button", { type: "button", class: "stop-down", "data-stop": st.id, disabled: pos >= visits.length, title: t("plan.down") }, "↓");
  down.addEventListener("click", () => control(st, "move", { position: pos + 1, route_version: route.version }));
  const others = plan.routes.filter((x) => x.id !== route.id);
  if (!others.length) return h("span", {}, up, down, pin);
  const select = h("select", { class: "stop-courier", "data-stop": st.id }, others.map((x) => h("option", { value: x.courier.id }, x.courier.name || x.courier.username)));
  const move = h("button", { type: "button", class: "stop-move", "data-stop": st.id }, t("plan.move"));
  move.addEventListener("click", () => control(st, "move", { courier_id: select.value, route_version: route.version }));
  return h("span", { class: "stop-controls" }, up, down, select, move, pin);
}

document.getElementById("plan-create").addEventListener("click", async () => {
  try {
    const created = await api(`post-offices/${encodeURIComponent(office)}/plans`, { method: "POST", body: { date: document.getElementById("plan-date").value } });
    await loadPlans(created.id);
  } catch (err) {
    toast(errorText(err), "error");
  }
});

document.getElementById("plan-list").addEventListener("change", (event) => showPlan(event.target.value));
document.getElementById("plan-date").addEventListener("change", () => loadPlans().catch((err) => toast(errorText(err), "error")));

document.getElementById("plan-publish").addEventListener("click", async () => {
  try {
    await api(`plans/${plan.id}/publish`, { method: "POST", body: {} });
    toast(t("plan.published"));
    await loadPlans(plan.id);
  } catch (err) {
    toast(errorText(err), "error");
  }
});

document.getElementById("plan-replan").addEventListener("click", async () => {
  try {
    const created = await api(`plans/${plan.id}/replan`, { method: "POST", body: {} });
    await loadPlans(created.id);
  } catch (err) {
    toast(errorText(err), "error");
  }
});

// --- during the day ---------------------------------------------------------------------------------------

let liveTimer = null;
async function refreshLive() {
  clearTimeout(liveTimer);
  const box = document.getElementById("live-couriers");
  try {
    const data = await api(`console/couriers?office=${encodeURIComponent(office)}`);
    document.getElementById("live-updated").textContent = `${t("updated")} ${fmtTime(data.as_of, false)}`;
    box.replaceChildren(
      data.plan_id ? "" : h("p", { class: "muted" }, t("live.noplan")),
      h(
        "table",
        { class: "grid", id: "live-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Bưu tá / Courier"), h("th", {}, t("live.position")), h("th", {}, t("live.progress")), h("th", {}, t("live.late")))),
        h(
          "tbody",
          {},
          data.couriers.map((c) =>
            h(
              "tr",
              { class: c.late.length ? "late" : "" },
              h("td", {}, `${c.name || ""} (${c.username})`),
              h("td", {}, c.position ? `${c.position.lat.toFixed(4)}, ${c.position.lon.toFixed(4)} · ${fmtTime(c.position.at, false)}` : t("live.nopos")),
              h("td", {}, h("progress", { max: Math.max(c.stops_total, 1), value: c.stops_done + c.stops_failed }), ` ${c.stops_done + c.stops_failed}/${c.stops_total}`),
              h("td", {}, c.late.map((s) => `#${s.seq} ${s.kind} (${fmtTime(s.eta, false)} > ${fmtTime(s.window_end, false)})`).join(", ") || "—"),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
  if (location.hash === "#live") liveTimer = setTimeout(refreshLive, 15000);
}

// --- couriers' shifts and the office's booking rules -------------------------------------------------------

const DAYS = ["1", "2", "3", "4", "5", "6", "7"];

// {"1": [["07:30","11:30"], ...]} <-> "07:30-11:30, 13:00-17:00" per day (older profiles hold a single pair).
function shiftText(pairs) {
  if (!pairs || !pairs.length) return "";
  const list = typeof pairs[0] === "string" ? [pairs] : pairs;
  return list.map(([a, b]) => `${a}-${b}`).join(", ");
}

function parseShifts(text) {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => part.split("-").map((x) => x.trim()));
}

async function loadTeam() {
  const box = document.getElementById("team-couriers");
  try {
    const staff = await api(`staff?role=courier&active=true&org=${encodeURIComponent(office)}`);
    const profiles = await Promise.all(staff.items.map((c) => api(`couriers/${c.id}/profile`)));
    box.replaceChildren(
      h(
        "table",
        { class: "grid", id: "team-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Bưu tá / Courier"), ...DAYS.map((d) => h("th", {}, t(`weekday.${d}`))), h("th", {}, ""))),
        h(
          "tbody",
          {},
          profiles.map((p, i) => {
            const inputs = DAYS.map((d) => h("input", { type: "text", size: 12, value: shiftText(p.shifts[d]), "data-day": d, placeholder: "—" }));
            const save = h("button", { type: "button", class: "primary", "data-courier": p.username }, t("save"));
            save.addEventListener("click", async () => {
              const shifts = {};
              for (const input of inputs) {
                const pairs = parseShifts(input.value);
                if (pairs.length) shifts[input.dataset.day] = pairs;
              }
              const body = { ...p, shifts };
              delete body.user_id;
              delete body.username;
              try {
                const saved = await api(`couriers/${p.user_id}/profile`, { method: "PUT", body });
                inputs.forEach((input) => (input.value = shiftText(saved.shifts[input.dataset.day])));
                toast(`${t("team.saved")}: ${p.username}`);
              } catch (err) {
                toast(errorText(err), "error");
              }
            });
            return h("tr", {}, h("td", {}, `${staff.items[i].full_name} (${p.username})`), ...inputs.map((x) => h("td", {}, x)), h("td", {}, save));
          }),
        ),
      ),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "error" }, errorText(err)));
  }
  try {
    const rules = await api(`post-offices/${encodeURIComponent(office)}/booking-settings`);
    const form = document.getElementById("rules-form");
    for (const key of ["window_minutes", "min_notice_minutes", "horizon_days", "cutoff_minutes", "travel_minutes"]) form.elements[key].value = rules[key];
    for (const kind of ["pickup", "delivery", "assisted"]) form.elements[kind].value = rules.service_minutes[kind];
  } catch (err) {
    toast(errorText(err), "error");
  }
}

document.getElementById("rules-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const num = (name) => Number(f[name].value);
  const body = {
    window_minutes: num("window_minutes"),
    min_notice_minutes: num("min_notice_minutes"),
    horizon_days: num("horizon_days"),
    cutoff_minutes: num("cutoff_minutes"),
    travel_minutes: num("travel_minutes"),
    service_minutes: { pickup: num("pickup"), delivery: num("delivery"), assisted: num("assisted") },
  };
  try {
    await api(`post-offices/${encodeURIComponent(office)}/booking-settings`, { method: "PUT", body });
    toast(t("team.saved"));
  } catch (err) {
    toast(errorText(err), "error");
  }
});

if (user) {
  document.getElementById("plan-date").value = vnDate(1); // tomorrow
  document.addEventListener("langchange", () => {
    renderPlan();
    if (location.hash === "#live") refreshLive();
  });
  tabs((name) => {
    if (name === "plan") loadPlans(plan?.id).catch((err) => toast(errorText(err), "error"));
    if (name === "live") {
      refreshLive();
      if (plan) loadMap(plan.id);
    }
    if (name === "team") loadTeam();
  });
}
