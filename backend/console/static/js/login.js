import { api, errorText, saveSession, startPage, t, token, currentUser } from "./common.js";

const HOME = { desk: "/console/desk", dispatcher: "/console/dispatcher", agency: "/console/agency", leadership: "/console/leadership", admin: "/console/desk" };

startPage(null);
const existing = currentUser();
if (token() && existing && HOME[existing.role]) location.href = HOME[existing.role];

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.classList.add("hidden");
  const username = document.getElementById("username").value.trim();
  const password = document.getElementById("password").value;
  try {
    const res = await api("auth/staff/login", { method: "POST", body: { username, password } });
    if (!HOME[res.user.role]) {
      error.textContent = t("auth.role");
      error.classList.remove("hidden");
      return;
    }
    saveSession(res.access_token, res.user);
    location.href = HOME[res.user.role];
  } catch (err) {
    error.textContent = err.status === 401 || err.status === 400 ? t("auth.failed") : errorText(err);
    error.classList.remove("hidden");
  }
});
