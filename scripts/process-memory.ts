/** Memory of running processes, read from Linux's /proc: for benchmarks and the load test. */
import { readFileSync } from 'node:fs';
import { processTree } from '../src/maintenance/owned-children';

/**
 * The processes of a process group and of the groups they started (`npm run dev` keeps wrangler and
 * workerd in one of their own), each with its current and peak RSS in kB.
 */
export function treeMemory(pgid: number) {
  return processTree(pgid).flatMap(({ pid }) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
      return [{ pid, rssKb: kb('VmRSS'), peakKb: kb('VmHWM') }];
    } catch {
      return []; // the process ended while we read it
    }
  });
}
