export async function limits(ctx) { throw new Error('not written'); }
