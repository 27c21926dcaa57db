// The conversation. On sign-in or reload the owner's last live conversation in the UI language is
// resumed (ListConversations, newest first over keyset pages, then GetConversation); when there is none
// the view is a draft, and the conversation is created (StartConversation) only when the owner writes.
// Then StreamMessage per user turn (text appears as it streams), quick answers where the flow asks
// yes/no, restart, history.
import { Code, ConnectError } from "@connectrpc/connect";
import { conversations } from "./api";
import { byId, clear, el } from "./dom";
import { friendlyMessage, isExpired } from "./errors";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type ConversationSummary,
  ConversationState,
  type GetConversationResponse,
  type Message,
  Sender,
} from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import { refreshHistory } from "./history";
import { lang, onLangChange, t } from "./i18n";
import { messageNode, renderMessages, StreamingBubble } from "./messages";
import { hideNotice, showNotice } from "./notice";
import { placeholder, quickAnswers } from "./quick";

const RESUME_PAGE_SIZE = 100;
const RESUME_PAGES = 5; // look at the newest 500 conversations at most

let conversationId = ""; // empty: a draft, created on the first message
let conversationLang = "";
let state = ConversationState.WAIT_FOR_SYMPTOM;
let busy = false;

const list = () => byId<HTMLOListElement>("messages");
const input = () => byId<HTMLTextAreaElement>("text");

function setBusy(value: boolean): void {
  busy = value;
  for (const button of document.querySelectorAll<HTMLButtonElement>("#composer button, #quick button")) {
    button.disabled = value;
  }
}

function setState(next: ConversationState): void {
  state = next;
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
      el("button", { text: t().startNew, attrs: { type: "button" }, onClick: () => draft() }),
    );
  }
}

function millis(stamp: Timestamp | undefined): number {
  return stamp ? Number(stamp.seconds) * 1000 + Math.floor(stamp.nanos / 1e6) : 0;
}

/** Live: not ended (GREETING comes only after the thank-you; UNSPECIFIED once the sweeper purged an
 * expired one's state) and not past its idle expiry. */
function ended(value: ConversationState): boolean {
  return value === ConversationState.UNSPECIFIED || value === ConversationState.GREETING;
}

function isLive(conversation: GetConversationResponse): boolean {
  return !ended(conversation.state) && millis(conversation.expiresAt) > Date.now();
}

/** The owner's most recently active live conversation in the UI language, or null. Pages come newest
 * created first; the one written to last is the only one that can still be live, so it is the one
 * fetched. */
async function lastLive(): Promise<GetConversationResponse | null> {
  let best: ConversationSummary | null = null;
  let pageToken = "";
  for (let page = 0; page < RESUME_PAGES; page++) {
    const reply = await conversations.listConversations({ pageSize: RESUME_PAGE_SIZE, pageToken });
    for (const summary of reply.conversations) {
      if (ended(summary.state) || summary.language !== lang()) continue;
      if (best === null || millis(summary.updatedAt) > millis(best.updatedAt)) best = summary;
    }
    pageToken = reply.nextPageToken;
    if (!pageToken) break;
  }
  if (best === null) return null;
  const conversation = await conversations.getConversation({ conversationId: best.conversationId });
  return isLive(conversation) ? conversation : null;
}

function show(conversation: GetConversationResponse): void {
  conversationId = conversation.conversationId;
  conversationLang = conversation.language;
  clear(list());
  renderMessages(list(), conversation.messages);
  setState(conversation.state);
}

/** A new conversation not yet created: an intro line, the first question's placeholder. */
function draft(): void {
  conversationId = "";
  conversationLang = lang();
  hideNotice();
  clear(list());
  list().append(el("li", { className: "msg msg-intro", text: t().intro, attrs: { "data-i18n": "intro" } }));
  setState(ConversationState.WAIT_FOR_SYMPTOM);
  history();
  input().focus();
}

/** Resume the last live conversation, or show a draft. */
export async function start(): Promise<void> {
  setBusy(true);
  hideNotice();
  let resumed: GetConversationResponse | null = null;
  try {
    resumed = await lastLive();
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
  }
  if (resumed) {
    show(resumed);
    history();
    input().focus();
  } else {
    draft();
  }
}

async function open(id: string): Promise<void> {
  if (busy) return;
  setBusy(true);
  hideNotice();
  try {
    show(await conversations.getConversation({ conversationId: id }));
    history();
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
    input().focus();
  }
}

async function streamTurn(text: string, bubble: StreamingBubble): Promise<{ state: ConversationState; messages: Message[] } | null> {
  for await (const event of conversations.streamMessage({ conversationId, text })) {
    if (event.event.case === "delta") bubble.append(event.event.value);
    else if (event.event.case === "done") return event.event.value;
  }
  return null;
}

/** Create the draft's conversation (its greeting replaces the intro line). */
async function create(): Promise<void> {
  const reply = await conversations.startConversation({ language: lang() });
  conversationId = reply.conversationId;
  conversationLang = lang();
  clear(list());
  renderMessages(list(), reply.messages);
  setState(reply.state);
}

export async function send(text: string): Promise<void> {
  const trimmed = text.trim();
  if (!trimmed || busy) return;
  setBusy(true);
  hideNotice();
  let bubble: StreamingBubble | null = null;
  try {
    if (!conversationId) await create();
    list().append(messageNode(Sender.USER, trimmed));
    bubble = new StreamingBubble(list());
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
    if (bubble !== null && bubble.received === 0) bubble.remove();
    else bubble?.node.classList.remove("streaming");
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
  byId<HTMLButtonElement>("restart").addEventListener("click", () => {
    if (conversationId) void send(t().restartWord);
    else draft();
  });
  byId<HTMLButtonElement>("new-conversation").addEventListener("click", () => {
    if (!busy) draft();
  });
  // The conversation follows the language: one in another language gives way to the last live one in
  // the new language (or a draft); otherwise only the texts change.
  onLangChange(() => {
    if (byId("chat-view").hidden || busy) return;
    if (conversationId && conversationLang !== lang()) void start();
    else {
      setState(state);
      history();
    }
  });
}
