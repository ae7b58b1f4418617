import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsWholeNumber, OptionalNotNull } from '../../http/validators';

/** The optional `winProbability` of proposals and negotiation rounds: a whole percentage. */
export function WinProbabilityField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      minimum: 0,
      maximum: 100,
      example: 60,
      description: "The seller's estimate of the chance to win, in percent; overrides the stage's default probability in the weighted pipeline",
    }),
    OptionalNotNull(),
    IsWholeNumber(0, 100),
  );
}
