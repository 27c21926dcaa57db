// Rendering chat messages. Every text is set with textContent: a message like
// `<img src=x onerror=alert(1)>` shows up as those characters, never as an element.
import { type Message, MessageKind, Sender } from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import { el } from "./dom";

const SENDERS: Record<Sender, { label: string; className: string }> = {
  [Sender.UNSPECIFIED]: { label: "WuffChat", className: "msg-companion" },
  [Sender.DOG]: { label: "Dein Hund", className: "msg-dog" },
  [Sender.COMPANION]: { label: "Begleiterin", className: "msg-companion" },
  [Sender.USER]: { label: "Du", className: "msg-user" },
};

export function messageNode(sender: Sender, text: string, kind: MessageKind = MessageKind.UNSPECIFIED): HTMLLIElement {
  const who = SENDERS[sender];
  const classes = ["msg", who.className, kind === MessageKind.ERROR ? "msg-error" : ""].filter(Boolean).join(" ");
  return el("li", { className: classes, attrs: { "data-sender": Sender[sender].toLowerCase() } }, [
    el("span", { className: "msg-sender", text: who.label }),
    el("span", { className: "msg-text", text }),
  ]);
}

export function renderMessages(list: HTMLOListElement, messages: Message[]): void {
  for (const message of messages) list.append(messageNode(message.sender, message.text, message.kind));
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
