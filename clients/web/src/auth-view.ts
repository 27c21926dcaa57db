// Register and log in: each call carries a freshly solved proof-of-work CAPTCHA.
import { auth } from "./api";
import { solveCaptcha } from "./captcha";
import { byId } from "./dom";
import { friendlyMessage } from "./errors";
import { hideNotice, showNotice } from "./notice";
import * as session from "./session";

type Mode = "login" | "register";

async function captcha() {
  return solveCaptcha(await auth.getCaptcha({}));
}

export function setupAuthView(onLoggedIn: () => void): void {
  const form = byId<HTMLFormElement>("auth-form");
  const email = byId<HTMLInputElement>("email");
  const password = byId<HTMLInputElement>("password");
  const submit = byId<HTMLButtonElement>("auth-submit");
  const status = byId<HTMLParagraphElement>("auth-status");
  const tabs: Record<Mode, HTMLButtonElement> = { login: byId("tab-login"), register: byId("tab-register") };
  let mode: Mode = "login";

  const select = (next: Mode) => {
    mode = next;
    for (const [name, tab] of Object.entries(tabs)) {
      tab.classList.toggle("active", name === mode);
      tab.setAttribute("aria-selected", String(name === mode));
    }
    submit.textContent = mode === "login" ? "Anmelden" : "Konto anlegen";
    password.autocomplete = mode === "login" ? "current-password" : "new-password";
    status.textContent = "";
  };
  tabs.login.addEventListener("click", () => select("login"));
  tabs.register.addEventListener("click", () => select("register"));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value || password.value.length < (mode === "register" ? 8 : 1)) {
      showNotice("Bitte gib deine E-Mail und ein Passwort mit mindestens 8 Zeichen ein.");
      return;
    }
    hideNotice();
    submit.disabled = true;
    try {
      if (mode === "register") {
        status.textContent = "Einen Moment: ich prüfe kurz, dass du kein Roboter bist …";
        await auth.register({ email: email.value, password: password.value, captcha: await captcha() });
      }
      status.textContent = "Einen Moment: ich melde dich an …";
      const reply = await auth.login({ email: email.value, password: password.value, captcha: await captcha() });
      if (!reply.tokens) throw new Error("no tokens");
      session.store(reply.tokens);
      password.value = "";
      status.textContent = "";
      onLoggedIn();
    } catch (err) {
      status.textContent = "";
      showNotice(friendlyMessage(err));
    } finally {
      submit.disabled = false;
    }
  });
}
