/**
 * One process owns a PGlite data folder. PGlite is Postgres in single-user mode with no lock of its
 * own (its postmaster.pid holds a fake pid): a second process opening the same folder replays and
 * checkpoints the WAL under the owner's feet. Its checkpoint record then points into WAL that the
 * owner overwrites, and the next start fails with "PANIC: could not locate a valid checkpoint record"
 * (PGlite: `RuntimeError: Aborted()`). Alone, the owner survives a SIGKILL: Postgres recovers from
 * its WAL, which PGlite writes straight to the folder's files (see test/embedded-server.test.ts).
 *
 * The lock is a file beside the folder holding the owner's pid and how to reach it (its control
 * socket), created atomically with link(2). A lock whose pid is dead (kill -9, power loss) is stale
 * and taken over.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

export interface LockOwner {
  pid: number;
  /** The owner's control socket, once it serves one (the Node entry does). */
  control?: string;
  since: string;
}

export class DataFolderInUseError extends Error {
  constructor(
    readonly folder: string,
    readonly owner: LockOwner,
  ) {
    super(`the embedded database in ${folder} is in use by process ${owner.pid} (since ${owner.since}): one process at a time may open it`);
  }
}

export interface DataFolderLock {
  /** Records in the lock how other processes reach the owner. */
  advertise(control: string): void;
  release(): void;
}

/** Lock files held by this process: a second open from the same process is refused too. */
const held = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function readOwner(lockFile: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(lockFile, 'utf8')) as LockOwner;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The process owning the folder, if it is alive. Our own pid counts only if we hold the lock: a reused pid (a container restarted after kill -9) is not an owner. */
export function lockOwner(lockFile: string): LockOwner | undefined {
  const owner = readOwner(lockFile);
  if (!owner) return undefined;
  if (owner.pid === process.pid) return held.has(lockFile) ? owner : undefined;
  return isAlive(owner.pid) ? owner : undefined;
}

/** Writes the lock's content beside it first: readers never see a half-written lock. */
function writeTemporary(lockFile: string, owner: LockOwner): string {
  const temporary = `${lockFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(owner), { mode: 0o600 });
  return temporary;
}

const sameOwner = (a: LockOwner | undefined, b: LockOwner | undefined) => a?.pid === b?.pid && a?.since === b?.since;

export function lockDataFolder(lockFile: string, folder: string): DataFolderLock {
  let owner: LockOwner = { pid: process.pid, since: new Date().toISOString() };
  const temporary = writeTemporary(lockFile, owner);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        linkSync(temporary, lockFile); // fails if the lock exists: atomic test-and-create
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw error;
      }
      const seen = readOwner(lockFile);
      const live = lockOwner(lockFile);
      if (live) throw new DataFolderInUseError(folder, live);
      // Stale: move it aside (only one process can move a given file), then check that what we moved
      // is the stale lock we read and not a fresh one that another process created meanwhile.
      const aside = `${lockFile}.${process.pid}.stale`;
      try {
        renameSync(lockFile, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process moved it
        throw error;
      }
      const moved = readOwner(aside);
      if (!sameOwner(moved, seen)) {
        try {
          linkSync(aside, lockFile); // give it back
        } finally {
          unlinkSync(aside);
        }
        throw new DataFolderInUseError(folder, moved!);
      }
      unlinkSync(aside);
    }
  } finally {
    unlinkSync(temporary);
  }
  held.add(lockFile);
  return {
    advertise(control) {
      owner = { ...owner, control };
      renameSync(writeTemporary(lockFile, owner), lockFile);
    },
    release() {
      if (!held.delete(lockFile)) return;
      if (readOwner(lockFile)?.pid === process.pid) unlinkSync(lockFile);
    },
  };
}
