import type { DailyTraffic } from "@vpncp/http/client";

/**
 * WHMCS keeps a service's usage in tblhosting.bwusage and .diskusage as whole megabytes
 * (int columns; its own cPanel import divides bytes by 1024 * 1024, and its templates show
 * bwusage / 1024 as GB). So one WHMCS "MB" is 1 048 576 bytes, and a month's traffic becomes
 * round(bytes / 1 048 576): half a MB and more counts as one.
 */
export const WHMCS_MB = 1024 * 1024;

export function bytesToWhmcsMb(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes <= 0) return 0;
  return Math.round(bytes / WHMCS_MB);
}

/** Which traffic WHMCS bills as bandwidth: both directions (the default), or one. */
export type BilledDirection = "total" | "download" | "upload";

export interface ServiceUsage {
  readonly serviceid: string;
  readonly account: string;
  readonly node: string;
  /** Bytes of the month to the client and from the client. */
  readonly download_bytes: number;
  readonly upload_bytes: number;
  /** What WHMCS stores in tblhosting.bwusage: MB of the billed direction(s). */
  readonly bwusage: number;
  /** A VPN account uses no disk. */
  readonly diskusage: 0;
}

/** One service's usage from the days of its month. */
export function usageOfMonth(
  days: readonly DailyTraffic[],
  service: { serviceid: string; account: string; node: string },
  billed: BilledDirection = "total",
): ServiceUsage {
  let download = 0;
  let upload = 0;
  for (const day of days) {
    download += Number(day.traffic_download) || 0;
    upload += Number(day.traffic_upload) || 0;
  }
  const bytes = billed === "download" ? download : billed === "upload" ? upload : download + upload;
  return {
    serviceid: service.serviceid,
    account: service.account,
    node: service.node,
    download_bytes: download,
    upload_bytes: upload,
    bwusage: bytesToWhmcsMb(bytes),
    diskusage: 0,
  };
}
