// Tokens: the access token lives in memory only; the refresh token in sessionStorage (this tab only),
// so a reload keeps the session but closing the tab ends it.
import type { TokenPair } from "./gen/wuffchat/auth/v1/auth_service_pb";

const REFRESH_KEY = "wuffchat.refresh";
const EARLY_REFRESH_MS = 30_000; // refresh this long before the access token expires

let accessToken = "";
let accessExpiresAt = 0;

export function store(tokens: TokenPair): void {
  accessToken = tokens.accessToken;
  accessExpiresAt = Date.now() + Number(tokens.accessExpiresIn) * 1000;
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
}

export function clearTokens(): void {
  accessToken = "";
  accessExpiresAt = 0;
  sessionStorage.removeItem(REFRESH_KEY);
}

export function refreshToken(): string {
  return sessionStorage.getItem(REFRESH_KEY) ?? "";
}

export function access(): string {
  return accessToken;
}

export function accessIsFresh(): boolean {
  return accessToken !== "" && Date.now() < accessExpiresAt - EARLY_REFRESH_MS;
}

export function hasSession(): boolean {
  return refreshToken() !== "";
}
