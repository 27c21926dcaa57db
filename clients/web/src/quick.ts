// Quick answers for the states where the flow asks yes/no or a score (SPEC.md section 6).
import { ConversationState } from "./gen/wuffchat/conversation/v1/conversation_service_pb";

export type QuickAnswer = { label: string; text: string };

const YES_NO: QuickAnswer[] = [
  { label: "Ja", text: "ja" },
  { label: "Nein", text: "nein" },
];
const SCORE: QuickAnswer[] = Array.from({ length: 11 }, (_, i) => ({ label: String(i), text: String(i) }));

export function quickAnswers(state: ConversationState): QuickAnswer[] {
  switch (state) {
    case ConversationState.WAIT_FOR_CONFIRMATION:
    case ConversationState.ASK_FOR_EXERCISE:
    case ConversationState.END_OR_RESTART:
    case ConversationState.FEEDBACK_Q1:
    case ConversationState.FEEDBACK_Q3:
      return YES_NO;
    case ConversationState.FEEDBACK_Q4:
      return SCORE;
    case ConversationState.FEEDBACK_Q5:
      return [{ label: "Überspringen", text: "nein" }];
    default:
      return [];
  }
}

export function placeholder(state: ConversationState): string {
  switch (state) {
    case ConversationState.WAIT_FOR_SYMPTOM:
      return "Was macht dein Hund? Zum Beispiel: Er bellt jeden Besucher an.";
    case ConversationState.WAIT_FOR_CONTEXT:
      return "Wo, wann und bei wem passiert es?";
    case ConversationState.FEEDBACK_Q2:
      return "Wie fandest du die Sicht deines Hundes?";
    case ConversationState.FEEDBACK_Q5:
      return "Optional: wie dürfen wir dich für eine Rückfrage erreichen?";
    default:
      return "Deine Antwort …";
  }
}
