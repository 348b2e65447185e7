import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { appRoutes, type Harness, startHarness, TRANSPORTS, type TransportKind } from "./harness.js";

type Json = Record<string, unknown>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** Every method and path the app routes, in OpenAPI's spelling ("get /api/v1/account/{name}"). */
function appOperations(h: Harness): string[] {
  return appRoutes(h.app)
    .map((r) => `${r.method.toLowerCase()} ${r.route.replace(/:(\w+)/g, "{$1}")}`)
    .sort();
}

function documentedOperations(doc: Json): string[] {
  const paths = doc.paths as Record<string, Json>;
  return Object.entries(paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((method) => `${method} ${path}`),
    )
    .sort();
}

/** A structural check of an OpenAPI 3.1 document: what a validator would refuse, for the parts this document uses. */
function structuralProblems(doc: Json): string[] {
  const problems: string[] = [];
  if (doc.openapi !== "3.1.0" && !/^3\.1\.\d+$/.test(String(doc.openapi))) problems.push(`openapi is ${String(doc.openapi)}`);
  const info = doc.info as Json | undefined;
  if (typeof info?.title !== "string" || typeof info.version !== "string") problems.push("info needs title and version strings");
  const schemes = ((doc.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, Json>;
  for (const requirement of (doc.security ?? []) as Record<string, unknown>[]) {
    for (const name of Object.keys(requirement)) if (!schemes[name]) problems.push(`security names an unknown scheme ${name}`);
  }
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    if (!path.startsWith("/")) problems.push(`${path}: paths start with /`);
    const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) {
        if (method !== "parameters" && method !== "summary" && method !== "description") problems.push(`${path}: unknown key ${method}`);
        continue;
      }
      const op = operation as Json;
      const where = `${method} ${path}`;
      if (typeof op.operationId === "string") {
        if (operationIds.has(op.operationId)) problems.push(`${where}: duplicate operationId`);
        operationIds.add(op.operationId);
      }
      const parameters = (op.parameters ?? []) as Json[];
      for (const name of templated) {
        const p = parameters.find((x) => x.name === name && x.in === "path");
        if (!p) problems.push(`${where}: path parameter ${name} is not described`);
        else if (p.required !== true) problems.push(`${where}: path parameter ${name} must be required`);
      }
      for (const p of parameters) {
        if (!["path", "query", "header", "cookie"].includes(String(p.in)))
          problems.push(`${where}: parameter ${String(p.name)} in ${String(p.in)}`);
        if (p.in === "path" && !templated.includes(String(p.name)))
          problems.push(`${where}: parameter ${String(p.name)} is not in the path`);
        if (!p.schema && !p.content) problems.push(`${where}: parameter ${String(p.name)} has no schema`);
      }
      const responses = op.responses as Record<string, Json> | undefined;
      if (!responses || Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
      for (const [code, response] of Object.entries(responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) problems.push(`${where}: response code ${code}`);
        if (typeof response.description !== "string") problems.push(`${where} ${code}: a response needs a description`);
        for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
          if (!/^[\w.+-]+\/[\w.+*-]+$/.test(type)) problems.push(`${where} ${code}: media type ${type}`);
          if (media.schema !== undefined && (typeof media.schema !== "object" || media.schema === null))
            problems.push(`${where} ${code}: schema`);
        }
      }
      const body = op.requestBody as Json | undefined;
      if (body && (typeof body.content !== "object" || Object.keys(body.content as Json).length === 0))
        problems.push(`${where}: requestBody without content`);
      if (body && (method === "get" || method === "delete" || method === "head")) problems.push(`${where}: a body on ${method}`);
    }
  }
  const refs = JSON.stringify(doc).match(/"\$ref":"([^"]+)"/g) ?? [];
  for (const ref of refs) {
    const pointer = ref.slice(9, -1);
    let node: unknown = doc;
    for (const part of pointer.replace(/^#\//, "").split("/"))
      node = (node as Json | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    if (node === undefined) problems.push(`unresolved $ref ${pointer}`);
  }
  return problems;
}

describe.each(TRANSPORTS)("/api/v1/openapi.json (%s)", (kind: TransportKind) => {
  let h: Harness;
  let doc: Json;
  beforeAll(async () => {
    h = await startHarness(kind);
    const response = await h.fetch("/api/v1/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    doc = (await response.json()) as Json;
  });
  afterAll(async () => {
    await h?.close();
  });

  test("is served without the cookie, as an OpenAPI 3.1 document with no structural problems", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(structuralProblems(doc)).toEqual([]);
  });

  test("the checker finds problems when there are some", () => {
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, Json>> };
    const op = broken.paths["/api/v1/account/{name}"]!.get!;
    op.parameters = [];
    op.responses = {};
    expect(structuralProblems(broken as unknown as Json)).toEqual([
      "get /api/v1/account/{name}: path parameter name is not described",
      "get /api/v1/account/{name}: no responses",
    ]);
  });

  test("documents every route the app serves, and nothing it does not", () => {
    expect(documentedOperations(doc)).toEqual(appOperations(h));
  });

  test("the cookie access_hash is the security scheme; public paths opt out", () => {
    const schemes = (doc.components as Json).securitySchemes as Record<string, Json>;
    expect(Object.values(schemes)).toContainEqual({ type: "apiKey", in: "cookie", name: "access_hash" });
    const paths = doc.paths as Record<string, Record<string, Json>>;
    expect(paths["/otl/{key}"]!.get!.security).toEqual([]);
    expect(paths["/api/v1/openapi.json"]?.get?.security).toEqual([]);
    expect(paths["/api/v1/account"]!.get!.security).toBeUndefined();
    // and what needs no cookie does not answer Not authorized
    expect(Object.keys(paths["/otl/{key}"]!.get!.responses as Json)).toEqual(["200"]);
    expect(Object.keys(paths["/api/v1/openapi.json"]!.get!.responses as Json)).toEqual(["200"]);
    expect(Object.keys(((paths["/otl/{key}"]!.get!.responses as Json)["200"] as Json).content as Json)).toEqual(["text/html"]);
  });

  test("each documented error sentence is listed under its status on the operations that answer it", () => {
    const paths = doc.paths as Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    const post = paths["/api/v1/account"]!.post!.responses;
    expect(post["401"]!.description).toContain("Not authorized");
    expect(post["403"]!.description).toContain("VPN account limit exceeded");
    expect(post["409"]!.description).toContain("The name is already in use");
    const statistics = paths["/api/v1/account/{name}/traffic_statistics/{year}/{month}"]!.get!.responses;
    expect(statistics["400"]!.description).toContain("Wrong month setting");
    expect(statistics["400"]!.description).toContain("Wrong year setting");
    expect(statistics["404"]!.description).toContain("Account not found");
  });

  test("the account object's documented fields are strings, the status counts numbers (as the pages show)", () => {
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const schemaOf = (path: string, method = "get") =>
      ((((paths[path]![method]!.responses as Json)["200"] as Json).content as Json)["application/json"] as Json).schema as {
        properties: { msg: { properties: Record<string, { type: string }> } };
      };
    const account = schemaOf("/api/v1/account/{name}").properties.msg.properties;
    for (const key of [
      "allowed_IPs",
      "b_download",
      "b_upload",
      "mangle",
      "name",
      "password",
      "private_key",
      "public_key",
      "status",
      "username",
      "wg_name",
    ])
      expect(account[key]?.type, key).toBe("string");
    const status = schemaOf("/api/v1/system/status").properties.msg.properties;
    expect(status.count_accounts?.type).toBe("integer");
    expect(status.license_valid?.type).toBe("boolean");
  });
});
