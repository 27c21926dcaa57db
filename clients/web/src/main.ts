// Entry point: log in (or resume the tab's session), then chat.
import { auth, whenSessionLost } from "./api";
import { setupAuthView } from "./auth-view";
import { setupChatView, start } from "./chat-view";
import { byId, show } from "./dom";
import { showNotice } from "./notice";
import * as session from "./session";

function showAuth(): void {
  show(byId("chat-view"), false);
  show(byId("logout"), false);
  show(byId("auth-view"), true);
  byId<HTMLInputElement>("email").focus();
}

function showChat(): void {
  show(byId("auth-view"), false);
  show(byId("chat-view"), true);
  show(byId("logout"), true);
  void start();
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

function main(): void {
  byId<HTMLParagraphElement>("loading").hidden = true;
  setupAuthView(showChat);
  setupChatView();
  byId<HTMLButtonElement>("logout").addEventListener("click", () => void logout());
  whenSessionLost(() => {
    showAuth();
    showNotice("Deine Sitzung ist abgelaufen. Bitte melde dich erneut an.");
  });
  if (session.hasSession()) showChat();
  else showAuth();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
