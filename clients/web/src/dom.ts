// Building DOM nodes. Text goes in through textContent only: server and user text is never parsed as HTML.

type Props = {
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
  onClick?: () => void;
};

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  if (props.onClick) node.addEventListener("click", props.onClick);
  for (const child of children) node.append(child);
  return node;
}

export function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node as T;
}

export function clear(node: Element): void {
  node.replaceChildren();
}

export function show(node: HTMLElement, visible: boolean): void {
  node.hidden = !visible;
}
