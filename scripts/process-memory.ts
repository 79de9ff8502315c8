/** Memory of running processes, read from Linux's /proc: for benchmarks and the load test. */
import { readdirSync, readFileSync } from 'node:fs';

/** The processes of a process group, each with its current and peak RSS in kB. */
export function groupMemory(pgid: number) {
  const processes: Array<{ pid: number; rssKb: number; peakKb: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state, ppid, pgrp, …
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
      processes.push({ pid: Number(entry), rssKb: kb('VmRSS'), peakKb: kb('VmHWM') });
    } catch {
      // the process ended while we read it
    }
  }
  return processes;
}
