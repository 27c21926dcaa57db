// Rendering chat messages. Every text is set with textContent: a message like
// `<img src=x onerror=alert(1)>` shows up as those characters, never as an element.
// An exercise's `steps` become a numbered list under the text; the text ends with the same steps
// written out ("1. ...", one per line), so those last lines are dropped from it.
import { type Message, MessageKind, Sender } from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import { el } from "./dom";
import { text as label } from "./i18n";

// The label is a text key (data-i18n), so a language switch relabels bubbles already shown.
const SENDERS: Record<Sender, { label: "senderSystem" | "senderDog" | "senderCompanion" | "senderUser"; className: string }> = {
  [Sender.UNSPECIFIED]: { label: "senderSystem", className: "msg-companion" },
  [Sender.DOG]: { label: "senderDog", className: "msg-dog" },
  [Sender.COMPANION]: { label: "senderCompanion", className: "msg-companion" },
  [Sender.USER]: { label: "senderUser", className: "msg-user" },
};

/** The text without its last `count` lines (the steps written out); the text itself when there are none. */
export function textWithoutSteps(text: string, count: number): string {
  if (count === 0) return text;
  const lines = text.replace(/\n+$/, "").split("\n");
  return lines.slice(0, Math.max(lines.length - count, 0)).join("\n").trimEnd();
}

export function messageNode(
  sender: Sender,
  text: string,
  kind: MessageKind = MessageKind.UNSPECIFIED,
  steps: readonly string[] = [],
): HTMLLIElement {
  const who = SENDERS[sender];
  const classes = ["msg", who.className, kind === MessageKind.ERROR ? "msg-error" : ""].filter(Boolean).join(" ");
  const children: Node[] = [
    el("span", { className: "msg-sender", text: label(who.label), attrs: { "data-i18n": who.label } }),
    el("span", { className: "msg-text", text: textWithoutSteps(text, steps.length) }),
  ];
  if (steps.length > 0) {
    children.push(el("ol", { className: "msg-steps" }, steps.map((step) => el("li", { text: step }))));
  }
  return el("li", { className: classes, attrs: { "data-sender": Sender[sender].toLowerCase() } }, children);
}

export function renderMessages(list: HTMLOListElement, messages: Message[]): void {
  for (const message of messages) list.append(messageNode(message.sender, message.text, message.kind, message.steps));
  list.lastElementChild?.scrollIntoView({ block: "end" });
}

/** A dog bubble that grows as deltas arrive; `data-deltas` counts the pieces. */
export class StreamingBubble {
  readonly node: HTMLLIElement;
  private readonly text: HTMLSpanElement;
  private pieces = 0;

  constructor(list: HTMLOListElement) {
    this.node = messageNode(Sender.DOG, "");
    this.node.classList.add("streaming");
    this.node.setAttribute("data-deltas", "0");
    this.text = this.node.querySelector(".msg-text") as HTMLSpanElement;
    list.append(this.node);
  }

  get received(): number {
    return this.pieces;
  }

  append(delta: string): void {
    this.pieces += 1;
    this.text.textContent = (this.text.textContent ?? "") + delta;
    this.node.setAttribute("data-deltas", String(this.pieces));
    this.node.scrollIntoView({ block: "end" });
  }

  remove(): void {
    this.node.remove();
  }
}
