/** Namespace registry: `default` plus any registered at start or through RegisterNamespace. */
import { randomUUID } from 'node:crypto';
import { alreadyExists, notFound } from './errors.js';
import type { Duration } from './proto.js';

export interface NamespaceRecord {
  name: string;
  id: string;
  description: string;
  ownerEmail: string;
  retentionMs: number;
  data: Record<string, string>;
}

export class NamespaceRegistry {
  private readonly byName = new Map<string, NamespaceRecord>();

  constructor(
    initial: string[],
    private readonly defaultRetentionMs = 24 * 3600_000,
  ) {
    for (const n of ['default', ...initial]) if (!this.byName.has(n)) this.add(n);
  }

  add(name: string, extra: Partial<Omit<NamespaceRecord, 'name'>> = {}): NamespaceRecord {
    if (this.byName.has(name)) throw alreadyExists(`Namespace already exists: ${name}`);
    const rec: NamespaceRecord = {
      name,
      id: extra.id ?? randomUUID(),
      description: extra.description ?? '',
      ownerEmail: extra.ownerEmail ?? '',
      retentionMs: extra.retentionMs || this.defaultRetentionMs,
      data: extra.data ?? {},
    };
    this.byName.set(name, rec);
    return rec;
  }

  get(name: string): NamespaceRecord {
    const rec = this.byName.get(name);
    if (!rec) throw notFound(`Namespace ${name} is not found.`);
    return rec;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  list(): NamespaceRecord[] {
    return [...this.byName.values()];
  }

  snapshot(): NamespaceRecord[] {
    return this.list();
  }

  restore(list: NamespaceRecord[]): void {
    for (const r of list) this.byName.set(r.name, r);
  }
}

export function describeNamespace(rec: NamespaceRecord, retention: (ms: number) => Duration) {
  return {
    namespaceInfo: {
      name: rec.name,
      state: 1,
      description: rec.description,
      ownerEmail: rec.ownerEmail,
      data: rec.data,
      id: rec.id,
      capabilities: { eagerWorkflowStart: true, syncUpdate: true, asyncUpdate: true },
      supportsSchedules: true,
    },
    config: {
      workflowExecutionRetentionTtl: retention(rec.retentionMs),
      historyArchivalState: 2,
      visibilityArchivalState: 2,
    },
    replicationConfig: { activeClusterName: 'active', clusters: [{ clusterName: 'active' }], state: 1 },
    failoverVersion: 0,
    isGlobalNamespace: false,
  };
}
