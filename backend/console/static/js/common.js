// Shared by every console page: the token, JSON calls, formatting in Vietnam time, a tiny DOM builder.
import { applyI18n, lang, setLang, t } from "./i18n.js";

const TOKEN = "console.token";
const USER = "console.user";
export const API = "/api/v1";

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function currentUser() {
  const raw = sessionStorage.getItem(USER);
  return raw ? JSON.parse(raw) : null;
}

export function saveSession(accessToken, user) {
  sessionStorage.setItem(TOKEN, accessToken);
  sessionStorage.setItem(USER, JSON.stringify(user));
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
  location.href = "/console/login";
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// JSON in, JSON out; a 401 sends the clerk back to sign in (the token expired).
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const h = { Accept: "application/json", ...headers };
  const tok = token();
  if (tok) h.Authorization = `Bearer ${tok}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !path.includes("/auth/")) {
    signOut();
    throw new ApiError(401, null);
  }
  if (!response.ok) {
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

const VN = "Asia/Ho_Chi_Minh";

export function fmtTime(value, withDate = true) {
  if (!value) return "—";
  const d = new Date(value);
  const opts = withDate
    ? { timeZone: VN, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" }
    : { timeZone: VN, hour: "2-digit", minute: "2-digit" };
  return d.toLocaleString(lang() === "en" ? "en-GB" : "vi-VN", opts);
}

// Today in Vietnam as YYYY-MM-DD (the API's dates are Vietnam dates).
export function vnDate(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: VN, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

export function money(vnd) {
  if (vnd === null || vnd === undefined) return "—";
  return `${Number(vnd).toLocaleString("vi-VN")} ₫`;
}

// h("tr", {class: "x", onclick: f}, "text", h("td", ...)) — strings become text nodes (never HTML).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let toastTimer = null;
export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.className = `toast ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.add("hidden"), 6000);
}

export function errorText(err) {
  if (err instanceof ApiError && err.body) {
    const items = (err.body.items || []).map((i) => `${i.item_id}: ${i.error}`).join("; ");
    return [err.body.detail || err.body.title, items].filter(Boolean).join(" — ");
  }
  return `${t("error.generic")}: ${err.message || err}`;
}

// The frame every signed-in page shares: language switch, who is signed in, sign-out, role check.
export function startPage(roles) {
  applyI18n();
  document.getElementById("lang")?.addEventListener("click", () => setLang(lang() === "en" ? "vi" : "en"));
  if (!roles) return null;
  const user = currentUser();
  if (!token() || !user || !roles.includes(user.role)) {
    location.href = "/console/login";
    return null;
  }
  const who = document.getElementById("who");
  if (who) who.textContent = `${user.full_name || user.username} · ${user.organisation_name || user.organisation_code || ""}`;
  const out = document.getElementById("signout");
  out?.classList.remove("hidden");
  // the complaints page, for the staff of organisations that handle complaints (issue 23)
  if (["dispatcher", "desk", "agency", "admin"].includes(user.role) && document.body.dataset.page !== "complaints") {
    document.getElementById("nav-complaints")?.classList.remove("hidden");
  }
  out?.addEventListener("click", signOut);
  return user;
}

// Hash tabs: #name shows section #tab-name.
export function tabs(onShow) {
  const show = () => {
    const links = [...document.querySelectorAll("#tabs [data-tab]")];
    const name = location.hash.slice(1).split("/")[0] || links[0].dataset.tab;
    for (const link of links) link.classList.toggle("active", link.dataset.tab === name);
    for (const section of document.querySelectorAll("section.tab")) {
      section.classList.toggle("hidden", section.id !== `tab-${name}`);
    }
    onShow(name, decodeURIComponent(location.hash.slice(1).split("/")[1] || ""));
  };
  window.addEventListener("hashchange", show);
  show();
}

export { t };
