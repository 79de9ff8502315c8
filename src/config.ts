/**
 * Runtime configuration, read once from Worker bindings (vars and secrets) or `process.env` on Node.
 * Every feature adds its settings here, validated, so a misconfiguration fails at start, not mid-request.
 */
import { z } from 'zod';

const envSchema = z.object({
  /** Largest accepted request body in bytes. */
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
});

export type AppConfig = ReturnType<typeof parseConfig>;

export function parseConfig(env: Record<string, unknown>) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${fields}`);
  }
  const e = parsed.data;
  return {
    maxBodyBytes: e.MAX_BODY_BYTES,
  };
}
