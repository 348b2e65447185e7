import { randomBytes } from "node:crypto";

/** Keys that are not 32 bytes of canonical base64; `wg` rejects each of them too (keys.system.test.ts). */
export const INVALID_KEYS: Record<string, string> = {
  empty: "",
  "31 bytes": randomBytes(31).toString("base64"),
  "33 bytes": randomBytes(33).toString("base64"),
  "no padding": "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc",
  "double padding": "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuX==",
  "not base64": "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1u*Xc=",
  "url-safe alphabet": "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1u_Xc=",
  "non-canonical last character": "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXd=",
  "inner whitespace": "GNuP0siryMimPSuF7Hnmw0D7gY7 XzoY6IgUmt1uuXc=",
  "trailing newline": "GNuP0siryMimPSuF7Hnmw0D7gY7FXzoY6IgUmt1uuXc=\n",
};
