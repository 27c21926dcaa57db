// The conversation: StartConversation, then StreamMessage per user turn (text appears as it streams),
// quick answers where the flow asks yes/no, restart, history.
import { Code, ConnectError } from "@connectrpc/connect";
import { conversations } from "./api";
import { byId, clear, el } from "./dom";
import { friendlyMessage, isExpired } from "./errors";
import {
  ConversationState,
  type Message,
  Sender,
} from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import { refreshHistory } from "./history";
import { messageNode, renderMessages, StreamingBubble } from "./messages";
import { hideNotice, showNotice } from "./notice";
import { placeholder, quickAnswers } from "./quick";

const RESTART_WORD = "neustart";

let conversationId = "";
let busy = false;

const list = () => byId<HTMLOListElement>("messages");
const input = () => byId<HTMLTextAreaElement>("text");

function setBusy(value: boolean): void {
  busy = value;
  for (const button of document.querySelectorAll<HTMLButtonElement>("#composer button, #quick button")) {
    button.disabled = value;
  }
}

function setState(state: ConversationState): void {
  const quick = byId<HTMLDivElement>("quick");
  clear(quick);
  for (const answer of quickAnswers(state)) {
    quick.append(el("button", { text: answer.label, attrs: { type: "button" }, onClick: () => void send(answer.text) }));
  }
  input().placeholder = placeholder(state);
  byId<HTMLElement>("chat-view").setAttribute("data-state", ConversationState[state]);
}

function history(): void {
  refreshHistory(conversationId, (id) => void open(id)).catch(() => {
    /* the list is a convenience; the chat works without it */
  });
}

function fail(err: unknown): void {
  const error = ConnectError.from(err);
  showNotice(friendlyMessage(error));
  if (isExpired(error)) {
    clear(byId<HTMLDivElement>("quick"));
    byId<HTMLDivElement>("quick").append(
      el("button", { text: "Neues Gespräch starten", attrs: { type: "button" }, onClick: () => void start() }),
    );
  }
}

export async function start(): Promise<void> {
  setBusy(true);
  hideNotice();
  try {
    const reply = await conversations.startConversation({ language: "de" });
    conversationId = reply.conversationId;
    clear(list());
    renderMessages(list(), reply.messages);
    setState(reply.state);
    history();
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
  }
}

async function open(id: string): Promise<void> {
  if (busy) return;
  setBusy(true);
  hideNotice();
  try {
    const reply = await conversations.getConversation({ conversationId: id });
    conversationId = reply.conversationId;
    clear(list());
    renderMessages(list(), reply.messages);
    setState(reply.state);
    history();
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
  }
}

async function streamTurn(text: string, bubble: StreamingBubble): Promise<{ state: ConversationState; messages: Message[] } | null> {
  for await (const event of conversations.streamMessage({ conversationId, text })) {
    if (event.event.case === "delta") bubble.append(event.event.value);
    else if (event.event.case === "done") return event.event.value;
  }
  return null;
}

export async function send(text: string): Promise<void> {
  const trimmed = text.trim();
  if (!trimmed || busy || !conversationId) return;
  setBusy(true);
  hideNotice();
  list().append(messageNode(Sender.USER, trimmed));
  let bubble = new StreamingBubble(list());
  try {
    let done;
    try {
      done = await streamTurn(trimmed, bubble);
    } catch (err) {
      // A token refreshed by the interceptor: the stream is retried once if nothing arrived yet.
      if (ConnectError.from(err).code !== Code.Unauthenticated || bubble.received > 0) throw err;
      bubble.remove();
      bubble = new StreamingBubble(list());
      done = await streamTurn(trimmed, bubble);
    }
    if (done) {
      bubble.remove();
      renderMessages(list(), done.messages.filter((m) => m.sender !== Sender.USER));
      setState(done.state);
    } else {
      bubble.node.classList.remove("streaming");
    }
    input().value = "";
    history();
  } catch (err) {
    if (bubble.received === 0) bubble.remove();
    else bubble.node.classList.remove("streaming");
    fail(err);
  } finally {
    setBusy(false);
    input().focus();
  }
}

export function setupChatView(): void {
  byId<HTMLFormElement>("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    void send(input().value);
  });
  input().addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      void send(input().value);
    }
  });
  byId<HTMLButtonElement>("restart").addEventListener("click", () => void send(RESTART_WORD));
  byId<HTMLButtonElement>("new-conversation").addEventListener("click", () => void start());
}
