import { describe, expect, it } from 'vitest';
import { dialectFromEnv } from '../src/dialect.js';

describe('dialectFromEnv', () => {
  it('is 0.95 unless MTR_PACKET_TS_DIALECT says 0.96; anything else is an error naming the choices', () => {
    expect(dialectFromEnv({})).toBe('0.95');
    expect(dialectFromEnv({ MTR_PACKET_TS_DIALECT: '' })).toBe('0.95');
    expect(dialectFromEnv({ MTR_PACKET_TS_DIALECT: '0.95' })).toBe('0.95');
    expect(dialectFromEnv({ MTR_PACKET_TS_DIALECT: '0.96' })).toBe('0.96');
    expect(dialectFromEnv({ MTR_PACKET_TS_DIALECT: '0.97' })).toEqual({
      error: 'MTR_PACKET_TS_DIALECT=0.97: the dialect must be one of 0.95, 0.96',
    });
  });
});
