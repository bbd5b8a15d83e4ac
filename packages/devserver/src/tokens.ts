/** Task tokens: opaque to the SDK, JSON inside. */
import { invalidArgument } from './errors.js';

export interface WorkflowTaskToken {
  k: 'wft';
  ns: string;
  wid: string;
  rid: string;
  seq: number;
}
export interface QueryTaskToken {
  k: 'query';
  qid: string;
}
export interface ActivityTaskToken {
  k: 'act';
  ns: string;
  wid: string;
  rid: string;
  sched: number;
  seq: number;
  aid: string;
}
export type TaskToken = WorkflowTaskToken | QueryTaskToken | ActivityTaskToken;

export function encodeToken(t: TaskToken): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodeToken(b: Uint8Array | null | undefined): TaskToken {
  try {
    const t = JSON.parse(Buffer.from(b ?? []).toString('utf8')) as TaskToken;
    if (!t || typeof t !== 'object' || !('k' in t)) throw new Error('bad');
    return t;
  } catch {
    throw invalidArgument('Error deserializing task token.');
  }
}
