import type { DealCommand } from '../deal/deal-commands';
import { decide, type DecisionContext } from '../deal/deal-decider';
import type { DealEvent } from '../deal/deal-events';
import { DealRefused, type RefusalCode } from '../deal/deal-refusal';
import { fold } from '../deal/deal-state';

/** Given past events, when a command is decided, then these events, or this refusal. */
export function givenDeal(history: readonly DealEvent[], context: DecisionContext) {
  return {
    when(command: DealCommand) {
      const run = () => decide(command, fold(history), context);
      return {
        then(expected: readonly DealEvent[]): void {
          expect(run()).toEqual(expected);
        },
        thenRefused(code: RefusalCode): DealRefused {
          let refusal: unknown;
          try {
            run();
          } catch (error) {
            refusal = error;
          }
          expect(refusal).toBeInstanceOf(DealRefused);
          expect((refusal as DealRefused).code).toBe(code);
          expect((refusal as DealRefused).message).not.toHaveLength(0);
          return refusal as DealRefused;
        },
      };
    },
  };
}
