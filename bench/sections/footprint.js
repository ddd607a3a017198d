export async function footprint(ctx) { throw new Error('not written'); }
