// The tracking page: polls the visit's JSON answer every `refresh_s` seconds and shows it; a 410 shows that the
// visit ended, a 404 that the link is not valid (then polling stops); 429 waits for Retry-After; a lost
// connection keeps the last answer on screen and retries. No third-party code, no storage, no cookies.
const root = document.getElementById("app");
const api = root.dataset.api + encodeURIComponent(root.dataset.token);
let timer = 0;
let busy = false;

// Times come as RFC 3339 in Vietnam time ("2026-12-06T09:40:00+07:00"): shown as they are written.
const hhmm = (iso) => iso.slice(11, 16);
const dmy = (iso) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
const byId = (id) => document.getElementById(id);
const setText = (id, text) => { byId(id).textContent = text; };

function show(v) {
  setText("window", `${hhmm(v.window_start)}–${hhmm(v.window_end)} · ${dmy(v.window_start)}`);
  setText("eta", hhmm(v.eta));
  if (v.heading_to_you) {
    setText("status-vi", "Bưu tá đang trên đường đến chỗ bạn.");
    setText("status-en", "The courier is heading to you.");
  } else {
    setText("status-vi", `Bưu tá còn ${v.stops_before} điểm dừng trước khi đến chỗ bạn.`);
    setText("status-en", `The courier is ${v.stops_before} stop(s) away.`);
  }
  const stops = byId("stops");
  stops.replaceChildren();
  for (let i = 0; i < Math.min(v.stops_before, 9); i += 1) {
    const dot = document.createElement("i");
    dot.className = "dot";
    stops.append(dot);
  }
  const you = document.createElement("i");
  you.className = "dot you";
  stops.append(you);
  const pos = byId("position");
  if (v.position) {
    setText("position-text", `${v.position.lat.toFixed(4)}, ${v.position.lon.toFixed(4)} · ${hhmm(v.position.at)}`);
    byId("position-map").href = `geo:${v.position.lat},${v.position.lon}`;
    pos.hidden = false;
  } else {
    pos.hidden = true;
  }
  const now = new Date();
  setText("updated", now.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" }));
}

function finish(state) {
  root.dataset.state = state;
  byId("live").hidden = true;
  byId(state).hidden = false;
}

async function poll() {
  if (busy) return;
  busy = true;
  clearTimeout(timer);
  let wait = Number(root.dataset.refresh) || 15;
  try {
    const r = await fetch(api, { cache: "no-store", headers: { Accept: "application/json" } });
    byId("offline").hidden = true;
    if (r.status === 200) {
      const v = await r.json();
      show(v);
      wait = v.refresh_s || wait;
    } else if (r.status === 410 || r.status === 404) {
      finish(r.status === 410 ? "ended" : "invalid");
      return;
    } else if (r.status === 429) {
      wait = Number(r.headers.get("Retry-After")) || 60;
    } else {
      wait = 30;
    }
  } catch {
    byId("offline").hidden = false;
    wait = 30;
  } finally {
    busy = false;
  }
  timer = setTimeout(poll, wait * 1000);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && root.dataset.state === "live") poll();
});
timer = setTimeout(poll, (Number(root.dataset.refresh) || 15) * 1000);
