// The one banner for errors and hints (role=alert, so screen readers announce it).
import { byId } from "./dom";

export function showNotice(text: string, kind: "error" | "info" = "error"): void {
  const notice = byId<HTMLDivElement>("notice");
  notice.textContent = text;
  notice.className = kind === "info" ? "notice info" : "notice";
  notice.hidden = false;
}

export function hideNotice(): void {
  byId<HTMLDivElement>("notice").hidden = true;
}
