// Friendly German messages for gRPC errors. The server's own message is shown (as text) only where it
// is meant for the user (validation); everything else gets a fixed sentence.
import { Code, ConnectError } from "@connectrpc/connect";

export function retryAfterSeconds(err: ConnectError): number | null {
  const raw = err.metadata.get("retry-after");
  const seconds = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

export function friendlyMessage(error: unknown): string {
  const err = ConnectError.from(error);
  switch (err.code) {
    case Code.ResourceExhausted: {
      const seconds = retryAfterSeconds(err);
      const wait = seconds === null ? "einen Moment" : seconds === 1 ? "eine Sekunde" : `${seconds} Sekunden`;
      return `Nicht so schnell! Du hast gerade sehr viele Anfragen geschickt. Bitte warte ${wait} und versuche es dann noch einmal.`;
    }
    case Code.FailedPrecondition:
      return "Dieses Gespräch ist abgelaufen, weil es eine Weile still war. Starte einfach ein neues Gespräch.";
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
      return "WuffChat ist gerade nicht erreichbar. Bitte versuche es gleich noch einmal.";
    default:
      return "Da ist etwas schiefgelaufen. Bitte versuche es noch einmal.";
  }
}
