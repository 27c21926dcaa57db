// Friendly German messages for gRPC errors, chosen by the server's stable reason (google.rpc.ErrorInfo,
// domain "wuffchat"; AIP-193) rather than by the status code alone. The server's own message is shown
// (as text) only where it is meant for the user (validation, an existing account); everything else gets
// a fixed sentence.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb";

const DOMAIN = "wuffchat";

export function reason(err: ConnectError): string | null {
  const info = err.findDetails(ErrorInfoSchema).find((found) => found.domain === DOMAIN);
  return info ? info.reason : null;
}

export function retryAfterSeconds(err: ConnectError): number | null {
  const raw = err.metadata.get("retry-after");
  const seconds = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function waitText(err: ConnectError): string {
  const seconds = retryAfterSeconds(err);
  return seconds === null ? "einen Moment" : seconds === 1 ? "eine Sekunde" : `${seconds} Sekunden`;
}

const rateLimited = (err: ConnectError): string =>
  `Nicht so schnell! Du hast gerade sehr viele Anfragen geschickt. Bitte warte ${waitText(err)} und versuche es dann noch einmal.`;
const expired = (): string =>
  "Dieses Gespräch ist abgelaufen, weil es eine Weile still war. Starte einfach ein neues Gespräch.";
const unavailable = (): string => "WuffChat ist gerade nicht erreichbar. Bitte versuche es gleich noch einmal.";

const BY_REASON: Record<string, (err: ConnectError) => string> = {
  RATE_LIMITED: rateLimited,
  LOGIN_THROTTLED: (err) => `Zu viele fehlgeschlagene Anmeldungen. Bitte warte ${waitText(err)}.`,
  CONVERSATION_EXPIRED: expired,
  CONVERSATION_NOT_FOUND: () => "Das Gespräch wurde nicht gefunden.",
  LOGIN_FAILED: () => "Das hat nicht geklappt: E-Mail oder Passwort stimmen nicht.",
  SESSION_INVALID: () => "Deine Sitzung ist abgelaufen. Bitte melde dich neu an.",
  CAPTCHA_INVALID: () => "Die Sicherheitsaufgabe ist abgelaufen. Bitte versuche es noch einmal.",
  UNAVAILABLE: unavailable,
};

export function isExpired(error: unknown): boolean {
  const err = ConnectError.from(error);
  const known = reason(err);
  return known === null ? err.code === Code.FailedPrecondition : known === "CONVERSATION_EXPIRED";
}

export function friendlyMessage(error: unknown): string {
  const err = ConnectError.from(error);
  const known = reason(err);
  const byReason = known === null ? undefined : BY_REASON[known];
  if (byReason) return byReason(err);
  switch (err.code) {
    case Code.ResourceExhausted:
      return rateLimited(err);
    case Code.FailedPrecondition:
      return expired();
    case Code.Unauthenticated:
      return "Das hat nicht geklappt: E-Mail oder Passwort stimmen nicht, oder deine Sitzung ist abgelaufen.";
    case Code.InvalidArgument:
      return err.rawMessage || "Bitte prüfe deine Eingabe.";
    case Code.AlreadyExists:
      return err.rawMessage || "Dieses Konto gibt es schon.";
    case Code.NotFound:
      return "Das Gespräch wurde nicht gefunden.";
    case Code.PermissionDenied:
      return "Dafür fehlt dir die Berechtigung.";
    case Code.Unimplemented:
      return "Diese Funktion ist noch nicht verfügbar.";
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return unavailable();
    default:
      return "Da ist etwas schiefgelaufen. Bitte versuche es noch einmal.";
  }
}
