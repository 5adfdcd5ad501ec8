// Where and on what a run happened, recorded with every result: figures from a 2-core shared
// VM and from a workstation are not comparable, ratios are (more or less).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly arch: string;
  readonly node: string;
  /** 1-minute load average when the run started: how busy the shared machine already was. */
  readonly loadAverageAtStart: number;
}

export interface SourceInfo {
  readonly commit: string | null;
  /** Uncommitted changes under src/ or bench/ when the run started. */
  readonly dirty: boolean | null;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (pretty) return `${pretty[1]} (${type()} ${release()})`;
  } catch {
    // not Linux, or no os-release
  }
  return `${type()} ${release()}`;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    arch: arch(),
    node: process.version,
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

export function sourceInfo(): SourceInfo {
  const commit = git(['rev-parse', 'HEAD'])?.trim() ?? null;
  const status = git(['status', '--porcelain', '--', 'src', 'bench']);
  return { commit, dirty: status === null ? null : status.trim() !== '' };
}
