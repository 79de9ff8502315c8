/**
 * How an upload is taken in: written at once when the database answers (200, the upload's
 * answer), else kept durably in the spool and written later (202 with a receipt) — so that no
 * result is lost while the database is down, slow past a deadline, or known to be down (the
 * circuit is open). The qa CLI treats any 2xx as success; it can't retry a failure.
 * Bulk uploads always go through the spool (202).
 */
import type { Db } from '../db/client';
import type { BatchUpload, CommitUpload, OutputUpload } from '../domain/ingest/envelope';
import { ingestBatch } from '../domain/ingest/ingest-batch';
import { ingestCommit } from '../domain/ingest/ingest-commit';
import type { Ingested } from '../domain/ingest/upload-commit';
import type { OutputJson } from '../domain/v1-json';
import { failureMessage } from '../lib/database-failure';
import { invalidFields, serviceUnavailable } from '../lib/problem';
import type { CircuitBreaker } from './circuit-breaker';
import type { CompleteWrittenBatches } from './complete-batches';
import type { OutputWriter } from './output-coalescer';
import { newReceiptId } from './receipts';
import type { Spool } from './spool';
import { outputChunks, type SpooledUpload } from './spooled-uploads';
import { isTransient, isUnavailable } from './write-outputs';

export interface Receipt {
  status: 'queued';
  ingestion_id: string;
  detail: string;
}

/** A spooled upload's `cause`: why it was not written at once, for the request's log line (never sent to the client). */
export type Outcome<T> = { status: 200; body: T } | { status: 202; body: Receipt; cause: string };

export interface IngestionParts {
  db: Db;
  writeOutput: OutputWriter;
  spool: Spool;
  breaker: CircuitBreaker;
  /** Receipt times (ingestion/receipts.ts `receiptClock`). */
  receivedAt(): string;
  /** How long an upload waits for the database before it is spooled instead. */
  deadlineMs: number;
  /** After an upload was written (e.g. a commit it created needs GitLab metadata). */
  written(upload: OutputUpload | BatchUpload | CommitUpload, hexsha: string, commitCreated: boolean): Promise<void>;
  /** Once uploads are committed: the batches they may have completed (ingestion/complete-batches.ts). */
  completeBatches: CompleteWrittenBatches;
  /**
   * Told of every write as it starts, hooks included: it may go on after the answer (its deadline
   * passed: spooled, 202) on `db`, which a Worker must keep open, and its request alive, until then.
   */
  writing?(work: Promise<unknown>): void;
}

class DeadlinePassed extends Error {}

/** `work`, given `ms` to finish: past them, its signal aborts and the deadline is the answer. */
function withDeadline<T>(work: (abandoned: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const abandon = new AbortController();
  const working = work(abandon.signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const passed = new DeadlinePassed(`no answer from the database within ${ms} ms`);
      abandon.abort(passed);
      reject(passed);
    }, ms);
  });
  return Promise.race([working, deadline]).finally(() => clearTimeout(timer));
}

const QUEUED = 'Accepted while the database is unavailable; it will be written when the database is back. GET /api/v1/ingestions/{id} tells when.';

export class Ingestion {
  constructor(private readonly parts: IngestionParts) {}

  async output(upload: OutputUpload, hexsha: string): Promise<Outcome<OutputJson>> {
    const receivedAt = this.parts.receivedAt();
    return this.writeOrSpool(
      async (abandoned) => {
        const { written } = await this.parts.writeOutput({ upload, receivedAt }, abandoned);
        await this.parts.written(upload, hexsha, written.commitCreated);
        await this.parts.completeBatches(this.parts.db, [written.completionCheck]);
        return written.body;
      },
      (receipt) => outputChunks(receipt, [{ upload, receivedAt }], this.parts.spool),
    );
  }

  async batch(upload: BatchUpload, hexsha: string): Promise<Outcome<{ status: 'OK'; id: number }>> {
    const receivedAt = this.parts.receivedAt();
    return this.writeOrSpool(
      () => this.afterWrite(upload, hexsha, ingestBatch(this.parts.db, upload)),
      (receipt) => ({ chunks: [{ kind: 'batch', receipt, receivedAt, upload }], tooLarge: [] }),
    );
  }

  async commit(upload: CommitUpload, hexsha: string): Promise<Outcome<{ status: 'OK' }>> {
    const receivedAt = this.parts.receivedAt();
    return this.writeOrSpool(
      () => this.afterWrite(upload, hexsha, ingestCommit(this.parts.db, upload, hexsha)),
      (receipt) => ({ chunks: [{ kind: 'commit', receipt, receivedAt, upload, hexsha }], tooLarge: [] }),
    );
  }

  /** Many output uploads at once: spooled, written in chunks with multi-row statements. */
  async bulk(uploads: OutputUpload[]): Promise<{ ingestion_id: string; accepted: number }> {
    const receipt = newReceiptId();
    const { chunks, tooLarge } = outputChunks(receipt, uploads.map((upload) => ({ upload, receivedAt: this.parts.receivedAt() })), this.parts.spool);
    if (tooLarge.length) {
      throw invalidFields(
        tooLarge.map((item) => ({ field: `outputs.${item}`, message: `is larger than a queued message may be (${this.parts.spool.maxMessageBytes} bytes); send it on its own to /api/v1/output` })),
      );
    }
    await this.spool(chunks);
    return { ingestion_id: receipt, accepted: uploads.length };
  }

  private async afterWrite<T>(upload: BatchUpload | CommitUpload, hexsha: string, write: Promise<Ingested<T>>): Promise<T> {
    const { body, commitCreated } = await write;
    await this.parts.written(upload, hexsha, commitCreated);
    return body;
  }

  private async writeOrSpool<T>(
    write: (abandoned: AbortSignal) => Promise<T>,
    spooled: (receipt: string) => { chunks: SpooledUpload[]; tooLarge: number[] },
  ): Promise<Outcome<T>> {
    const { breaker, deadlineMs } = this.parts;
    let cause = 'the circuit is open: the database failed just before';
    if (breaker.allows()) {
      try {
        const body = await withDeadline((abandoned) => {
          const work = write(abandoned);
          this.parts.writing?.(work);
          return work;
        }, deadlineMs);
        breaker.recordSuccess();
        return { status: 200, body };
      } catch (error) {
        if (!isTransient(error) && !(error instanceof DeadlinePassed)) {
          breaker.recordSuccess(); // the database answered: the upload itself is wrong
          throw error;
        }
        // A write that kept losing to concurrent ones (write-outputs.ts) is kept too; the database is up.
        if (isUnavailable(error) || error instanceof DeadlinePassed) breaker.recordFailure();
        cause = failureMessage(error);
      }
    }
    const receipt = newReceiptId();
    const { chunks, tooLarge } = spooled(receipt);
    if (tooLarge.length) throw serviceUnavailable('The database is unavailable and this upload is too large to queue; retry later.', breaker.retryAfterSeconds());
    await this.spool(chunks);
    return { status: 202, body: { status: 'queued', ingestion_id: receipt, detail: QUEUED }, cause };
  }

  private async spool(messages: SpooledUpload[]) {
    try {
      await this.parts.spool.append(messages);
    } catch {
      // Not kept, so not acknowledged: the client must retry.
      throw serviceUnavailable('The upload could not be queued; retry later.', 5);
    }
  }
}
