// Quick answers for the states where the flow asks yes/no or a score (SPEC.md section 6), in the UI language.
import { ConversationState } from "./gen/wuffchat/conversation/v1/conversation_service_pb";
import { t } from "./i18n";

export type QuickAnswer = { label: string; text: string };

export function quickAnswers(state: ConversationState): QuickAnswer[] {
  const texts = t();
  switch (state) {
    case ConversationState.WAIT_FOR_CONFIRMATION:
    case ConversationState.ASK_FOR_EXERCISE:
    case ConversationState.END_OR_RESTART:
    case ConversationState.FEEDBACK_Q1:
    case ConversationState.FEEDBACK_Q3:
      return [
        { label: texts.yes, text: texts.yesWord },
        { label: texts.no, text: texts.noWord },
      ];
    case ConversationState.FEEDBACK_Q4:
      return Array.from({ length: 11 }, (_, i) => ({ label: String(i), text: String(i) }));
    case ConversationState.FEEDBACK_Q5:
      return [{ label: texts.skip, text: texts.skipWord }];
    default:
      return [];
  }
}

export function placeholder(state: ConversationState): string {
  const texts = t();
  switch (state) {
    case ConversationState.WAIT_FOR_SYMPTOM:
      return texts.placeholderSymptom;
    case ConversationState.WAIT_FOR_CONTEXT:
      return texts.placeholderContext;
    case ConversationState.FEEDBACK_Q2:
      return texts.placeholderQ2;
    case ConversationState.FEEDBACK_Q5:
      return texts.placeholderQ5;
    default:
      return texts.placeholderAny;
  }
}
