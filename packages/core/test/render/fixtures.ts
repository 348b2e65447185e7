import type { AccountRecord, ServerRecord } from "../../src/model/records.js";

/** The server and account of the API pages' examples (peer_10 on a /24, endpoint 77.87.125.200:51926). */
export const SERVER: ServerRecord = {
  name: "Default_106",
  interfaceName: "wg106",
  listenPort: 51926,
  address: "10.0.105.1/24",
  ipv6: false,
  addressIpv6: "",
  privateKey: "UN75r5fizeA5jaCAzF7/nOTTynu67ngsm4jxfiHaHGI=",
  publicKey: "Hkldth2Pdu/jnJ0NH4cjSlsun2pFdIUZXt0h5qaNzmA=",
  externalIp: "77.87.125.200",
  endpoint: "",
  dns1: "8.8.8.8",
  dns2: "1.1.1.1",
  dns1Ipv6: "",
  dns2Ipv6: "",
  mtu: 0,
  keepAlive: 0,
  allowedIps: "",
  internalTraffic: false,
  ikev2: false,
  bDownload: 0,
  bUpload: 0,
  createdAt: "2022-12-05T11:32:38Z",
};

export const ACCOUNT: AccountRecord = {
  name: "peer_10",
  username: "user_10",
  password: "dH4%%2M2%B",
  privateKey: "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=",
  publicKey: "7C5u5vZk051iA5W2zfbxjlZDgAdm7HdRFRgarI8nBw4=",
  status: "enable",
  wgName: "Default_106",
  allowedIp: "10.0.105.18",
  allowedIpv6: "",
  bDownload: 20,
  bUpload: 20,
  mangle: 109,
  uuid: "da7782cd-d00c-4114-9250-6c798585a441",
  createdAt: "2022-12-05T11:32:38Z",
};

export const SERVER_V6: ServerRecord = {
  ...SERVER,
  ipv6: true,
  addressIpv6: "fd00:0:0:69::1/64",
  dns1Ipv6: "2001:4860:4860::8888",
  dns2Ipv6: "2606:4700:4700::1111",
};

export const ACCOUNT_V6: AccountRecord = { ...ACCOUNT, allowedIpv6: "fd00:0:0:69::12" };
