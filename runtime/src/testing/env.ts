// Runs a test body with one environment variable set, then puts back what was there (unset, or
// the value a caller such as CI had given it).
export async function withEnv(name: string, value: string, body: () => Promise<void>): Promise<void> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    await body();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
