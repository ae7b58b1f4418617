import type { ArgumentMetadata } from '@nestjs/common';
import { GetPipelineRequest } from '../pipeline/get-pipeline/get-pipeline.request';
import { ApiError } from './api-error';
import { createValidationPipe } from './validation';

const query: ArgumentMetadata = { type: 'query', metatype: GetPipelineRequest, data: '' };

describe('request validation, query strings', () => {
  it('given a query string validated before, when it comes again, then the same frozen parameters answer it', async () => {
    const pipe = createValidationPipe();

    const first = await pipe.transform({ owner: 'owner-07', rotting: 'true', limit: '50' }, query);
    const again = await pipe.transform({ owner: 'owner-07', rotting: 'true', limit: '50' }, query);

    expect(first).toBeInstanceOf(GetPipelineRequest);
    expect(first).toEqual({ owner: 'owner-07', rotting: true, limit: 50 });
    expect(again).toBe(first);
    expect(Object.isFrozen(again)).toBe(true);
  });

  it('given another query string, when validated, then it gets parameters of its own', async () => {
    const pipe = createValidationPipe();

    const owner = await pipe.transform({ owner: 'owner-07' }, query);
    const other = await pipe.transform({ owner: 'owner-03' }, query);

    expect(other).toEqual({ owner: 'owner-03' });
    expect(other).not.toBe(owner);
  });

  it('given a query string refused once, when it comes again, then it is refused again with the same problems', async () => {
    const pipe = createValidationPipe();
    const refusal = async () => {
      const error = await pipe.transform({ limit: '0', colour: 'red' }, query).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      const { statusCode, code, details } = error as ApiError;
      return { statusCode, code, details };
    };

    const first = await refusal();

    expect(await refusal()).toEqual(first);
    expect(JSON.stringify(first)).toContain('limit must be a whole number from 1 to 200');
  });

  it('given query parameters of no class of ours, when validated, then they are handed over as they came and not kept', async () => {
    const pipe = createValidationPipe();
    const given = { owner: 'owner-07' };

    const handed = await pipe.transform(given, { type: 'query', metatype: Object, data: '' });

    expect(handed).toBe(given);
    expect(Object.isFrozen(given)).toBe(false);
  });

  it('given a parameter given twice, when validated after the same parameter given once, then the repetition is refused', async () => {
    const pipe = createValidationPipe();
    await pipe.transform({ owner: 'owner-07' }, query);

    await expect(pipe.transform({ owner: ['owner-07', 'owner-03'] }, query)).rejects.toThrow(ApiError);
  });
});
