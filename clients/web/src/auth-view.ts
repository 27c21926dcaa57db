// Register and log in: each call carries a freshly solved proof-of-work CAPTCHA.
import { auth } from "./api";
import { solveCaptcha } from "./captcha";
import { byId } from "./dom";
import { friendlyMessage } from "./errors";
import { onLangChange, t } from "./i18n";
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
    submit.dataset.i18n = mode === "login" ? "submitLogin" : "submitRegister";
    submit.textContent = mode === "login" ? t().submitLogin : t().submitRegister;
    password.autocomplete = mode === "login" ? "current-password" : "new-password";
    status.textContent = "";
  };
  tabs.login.addEventListener("click", () => select("login"));
  tabs.register.addEventListener("click", () => select("register"));
  onLangChange(() => {
    status.textContent = "";
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value || password.value.length < (mode === "register" ? 8 : 1)) {
      showNotice(t().authMissing);
      return;
    }
    hideNotice();
    submit.disabled = true;
    try {
      if (mode === "register") {
        status.textContent = t().authCaptcha;
        await auth.register({ email: email.value, password: password.value, captcha: await captcha() });
      }
      status.textContent = t().authLoggingIn;
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
