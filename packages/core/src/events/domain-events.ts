import type { AccountRecord, ServerRecord } from "../model/records.js";

/**
 * An account as events carry it: without its password and private key, since events leave the
 * process (webhooks, audit logs). Subscribers that need a secret read it with `accounts.get(name)`.
 */
export type AccountSnapshot = Omit<AccountRecord, "password" | "privateKey">;

/** A server as events carry it: without its private key. */
export type ServerSnapshot = Omit<ServerRecord, "privateKey">;

export function accountSnapshot(account: AccountRecord): AccountSnapshot {
  const { password: _password, privateKey: _privateKey, ...rest } = account;
  return rest;
}

export function serverSnapshot(server: ServerRecord): ServerSnapshot {
  const { privateKey: _privateKey, ...rest } = server;
  return rest;
}

/** What each domain event carries besides `type`, `id` and `at`. */
export interface DomainEventPayloads {
  "account.created": { readonly account: AccountSnapshot };
  /** Every EDIT (and each account of a server's set_bandwidth); `enabled`/`disabled` follow it when the status changed. */
  "account.updated": { readonly account: AccountSnapshot; readonly before: AccountSnapshot };
  "account.enabled": { readonly account: AccountSnapshot };
  "account.disabled": { readonly account: AccountSnapshot };
  "account.deleted": { readonly account: AccountSnapshot };
  "server.created": { readonly server: ServerSnapshot };
  "server.updated": { readonly server: ServerSnapshot; readonly before: ServerSnapshot };
  "server.deleted": { readonly server: ServerSnapshot };
  /** A traffic sample was booked: the accounts whose counters were read and the bytes added per account. */
  "statistics.sampled": {
    readonly date: string;
    readonly accounts: number;
    readonly deltas: Readonly<Record<string, { readonly download: number; readonly upload: number }>>;
  };
  /** The system now holds the stored state (a batch of changes, or a whole reload). */
  "reconcile.finished": { readonly changes: number; readonly reload: boolean; readonly durationMs: number };
  /** Applying failed; vpncp retries with a growing delay (`/system/status` shows the error meanwhile). */
  "reconcile.failed": { readonly changes: number; readonly reload: boolean; readonly error: string };
}

export type DomainEventType = keyof DomainEventPayloads;

export const DOMAIN_EVENT_TYPES: readonly DomainEventType[] = [
  "account.created",
  "account.updated",
  "account.enabled",
  "account.disabled",
  "account.deleted",
  "server.created",
  "server.updated",
  "server.deleted",
  "statistics.sampled",
  "reconcile.finished",
  "reconcile.failed",
];

/** One event: its type, a unique id (for idempotent receivers) and when the change was done. */
export type DomainEvent<K extends DomainEventType = DomainEventType> = {
  [T in K]: { readonly type: T; readonly id: string; readonly at: string } & DomainEventPayloads[T];
}[K];
