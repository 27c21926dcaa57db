// The history list: the user's conversations, newest first; a click opens one.
import { conversations } from "./api";
import { byId, clear, el } from "./dom";
import type { ConversationSummary } from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import { t } from "./i18n";

function when(summary: ConversationSummary): string {
  const stamp = summary.updatedAt ?? summary.createdAt;
  if (!stamp) return "";
  const date = new Date(Number(stamp.seconds) * 1000);
  return date.toLocaleString(t().dateLocale, { dateStyle: "medium", timeStyle: "short" });
}

export async function refreshHistory(currentId: string, open: (id: string) => void): Promise<void> {
  const list = byId<HTMLUListElement>("history");
  const reply = await conversations.listConversations({ pageSize: 20 });
  clear(list);
  if (reply.conversations.length === 0) {
    list.append(el("li", { className: "history-empty", text: t().historyEmpty }));
    return;
  }
  for (const summary of reply.conversations) {
    const current = summary.conversationId === currentId;
    const button = el(
      "button",
      {
        className: current ? "current" : "",
        attrs: { type: "button", "data-conversation": summary.conversationId, ...(current ? { "aria-current": "true" } : {}) },
        onClick: () => open(summary.conversationId),
      },
      [
        el("span", { className: "history-title", text: summary.behaviorTitle || t().untitled }),
        el("span", { className: "history-meta", text: when(summary) }),
      ],
    );
    list.append(el("li", {}, [button]));
  }
}
