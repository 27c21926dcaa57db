// Entry point: texts in the UI language, log in (or resume the tab's session), then chat; the account
// page (export, delete) beside the chat.
import { auth, whenSessionLost } from "./api";
import { resetAccountView, setupAccountView } from "./account-view";
import { setupAuthView } from "./auth-view";
import { setupChatView, start } from "./chat-view";
import { byId, show } from "./dom";
import { apply, lang, setLang, t } from "./i18n";
import { showNotice } from "./notice";
import * as session from "./session";

type View = "auth" | "chat" | "account";

function showView(view: View): void {
  show(byId("auth-view"), view === "auth");
  show(byId("chat-view"), view === "chat");
  show(byId("account-view"), view === "account");
  show(byId("logout"), view !== "auth");
  show(byId("account"), view === "chat");
  // The chat fills the window and only its message list scrolls; other views scroll as a page.
  document.body.classList.toggle("chatting", view === "chat");
}

function showAuth(): void {
  showView("auth");
  byId<HTMLInputElement>("email").focus();
}

function showChat(): void {
  showView("chat");
  void start();
}

function showAccount(): void {
  resetAccountView();
  showView("account");
  byId<HTMLHeadingElement>("account-title").focus();
}

async function logout(): Promise<void> {
  try {
    await auth.logout({ refreshToken: session.refreshToken(), allSessions: false });
  } catch {
    /* the local session ends either way */
  } finally {
    session.clearTokens();
    showAuth();
  }
}

function setupLanguageSwitch(): void {
  const button = byId<HTMLButtonElement>("lang");
  const label = () => button.setAttribute("lang", lang() === "de" ? "en" : "de"); // the switch speaks the other language
  label();
  button.addEventListener("click", () => {
    setLang(lang() === "de" ? "en" : "de");
    label();
  });
}

function setupHistoryToggle(): void {
  // On a phone the history folds away above the chat; on a wide screen the toggle is hidden.
  const toggle = byId<HTMLButtonElement>("history-toggle");
  const aside = byId<HTMLElement>("history-panel");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    aside.classList.toggle("open", open);
  });
}

function main(): void {
  apply();
  byId<HTMLParagraphElement>("loading").hidden = true;
  setupLanguageSwitch();
  setupHistoryToggle();
  setupAuthView(showChat);
  setupChatView();
  setupAccountView(showAuth);
  byId<HTMLButtonElement>("logout").addEventListener("click", () => void logout());
  byId<HTMLButtonElement>("account-logout").addEventListener("click", () => void logout());
  byId<HTMLButtonElement>("account").addEventListener("click", showAccount);
  byId<HTMLButtonElement>("account-back").addEventListener("click", showChat);
  whenSessionLost(() => {
    showAuth();
    showNotice(t().sessionLost);
  });
  if (session.hasSession()) showChat();
  else showAuth();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
