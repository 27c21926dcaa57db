// The owner's account: export all personal data (ExportMyData, saved as a JSON file) and delete the
// account (DeleteAccount), with the CLI's two confirmations: an explicit "yes, delete everything for
// good" (a checkbox here) and the current password.
import { auth } from "./api";
import { byId } from "./dom";
import { friendlyMessage } from "./errors";
import { t } from "./i18n";
import { hideNotice, showNotice } from "./notice";
import * as session from "./session";

export const EXPORT_FILE = "wuffchat-export.json";

function download(json: string): void {
  const url = URL.createObjectURL(new Blob([json], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = EXPORT_FILE;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function setupAccountView(onDeleted: () => void): void {
  const exportButton = byId<HTMLButtonElement>("export");
  const form = byId<HTMLFormElement>("delete-form");
  const confirm = byId<HTMLInputElement>("delete-confirm");
  const password = byId<HTMLInputElement>("delete-password");
  const submit = byId<HTMLButtonElement>("delete-submit");

  exportButton.addEventListener("click", async () => {
    hideNotice();
    exportButton.disabled = true;
    try {
      const reply = await auth.exportMyData({});
      download(reply.json);
      showNotice(t().exported, "info");
    } catch (err) {
      showNotice(friendlyMessage(err));
    } finally {
      exportButton.disabled = false;
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!confirm.checked) {
      showNotice(t().deleteNeedsConfirm);
      confirm.focus();
      return;
    }
    if (!password.value) {
      showNotice(t().deleteNeedsPassword);
      password.focus();
      return;
    }
    hideNotice();
    submit.disabled = true;
    try {
      await auth.deleteAccount({ password: password.value });
      session.clearTokens();
      form.reset();
      onDeleted();
      showNotice(t().deleted, "info");
    } catch (err) {
      showNotice(friendlyMessage(err));
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
}

export function resetAccountView(): void {
  byId<HTMLFormElement>("delete-form").reset();
}
