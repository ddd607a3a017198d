export async function frontend(ctx) { throw new Error('not written'); }
