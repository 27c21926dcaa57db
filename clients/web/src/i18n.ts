// The UI language: English when the browser prefers English (navigator.languages), German otherwise,
// unless the owner picked one with the switch (kept in localStorage). Static texts in index.html carry
// `data-i18n` (text), `data-i18n-placeholder` and `data-i18n-label` (aria-label) keys; `apply` fills them.
// The same language goes to the server as `accept-language` and as a new conversation's language.
import { DE, EN, type Texts } from "./texts";

export type Lang = "de" | "en";

const STORE_KEY = "wuffchat.lang";
const TEXTS: Record<Lang, Texts> = { de: DE, en: EN };

function stored(): Lang | null {
  try {
    const value = localStorage.getItem(STORE_KEY);
    return value === "de" || value === "en" ? value : null;
  } catch {
    return null; // storage blocked: follow the browser
  }
}

/** The first of the browser's languages that we speak; German when none is. */
export function browserLang(languages: readonly string[] = navigator.languages ?? [navigator.language]): Lang {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split("-")[0];
    if (primary === "de" || primary === "en") return primary;
  }
  return "de";
}

let current: Lang = stored() ?? browserLang();
const listeners: ((lang: Lang) => void)[] = [];

export function lang(): Lang {
  return current;
}

export function t(): Texts {
  return TEXTS[current];
}

export function text(key: keyof Texts): string {
  const value = TEXTS[current][key];
  return typeof value === "string" ? value : key;
}

export function onLangChange(listener: (lang: Lang) => void): void {
  listeners.push(listener);
}

export function setLang(next: Lang): void {
  current = next;
  try {
    localStorage.setItem(STORE_KEY, next);
  } catch {
    /* not kept across reloads then */
  }
  apply();
  for (const listener of listeners) listener(next);
}

function lookup(key: string): string | null {
  const value = (TEXTS[current] as Record<string, unknown>)[key];
  return typeof value === "string" ? value : null;
}

/** Fill every marked text of `root` in the current language. */
export function apply(root: ParentNode = document): void {
  document.documentElement.lang = current;
  for (const node of root.querySelectorAll<HTMLElement>("[data-i18n]")) {
    const value = lookup(node.dataset.i18n ?? "");
    if (value !== null) node.textContent = value;
  }
  for (const node of root.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("[data-i18n-placeholder]")) {
    const value = lookup(node.dataset.i18nPlaceholder ?? "");
    if (value !== null) node.placeholder = value;
  }
  for (const node of root.querySelectorAll<HTMLElement>("[data-i18n-label]")) {
    const value = lookup(node.dataset.i18nLabel ?? "");
    if (value !== null) node.setAttribute("aria-label", value);
  }
}
