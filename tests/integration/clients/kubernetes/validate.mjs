// Validates Kubernetes manifests (every YAML document of every file given) against the API's
// schemas, two ways:
//   - kubernetes-models: JSON schemas generated from the Kubernetes OpenAPI spec (types,
//     required fields, enums, formats), compiled with ajv;
//   - unknown fields, which those schemas allow: every field must be one the official
//     JavaScript client (@kubernetes/client-node) knows for that type, recursively.
// Prints one line per object; exits 1 when any object is invalid.
//   node validate.mjs FILE.yaml...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as k8s from "@kubernetes/client-node";

// Fields under `type` (a client-node type name such as "Array<V1Container>") that the client
// does not know, as "path.field" strings.
function unknownFields(value, type, path, out) {
  if (value === null || value === undefined) return;
  let m = /^Array<(.+)>$/.exec(type);
  if (m) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, m[1], `${path}[${i}]`, out));
    return;
  }
  m = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (m) {
    for (const [k, v] of Object.entries(value)) unknownFields(v, m[1], `${path}.${k}`, out);
    return;
  }
  const cls = k8s[type];
  if (typeof cls?.getAttributeTypeMap !== "function" || typeof value !== "object") return;
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!attrs.has(k)) out.push(`${path}.${k}`);
    else unknownFields(v, attrs.get(k), `${path}.${k}`, out);
  }
}

let failed = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" })) {
    if (doc.errors.length) {
      console.log(`INVALID ${file}: YAML: ${doc.errors[0].message.split("\n")[0]}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;  // an empty document (a template that rendered nothing)
    const what = `${file}: ${obj.apiVersion}/${obj.kind} ${obj.metadata?.name}`;
    const problems = [];
    try {
      const mod = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
      new mod[obj.kind](obj).validate();
    } catch (e) {
      problems.push(e.message);
    }
    const version = obj.apiVersion.split("/").pop();
    const type = version.charAt(0).toUpperCase() + version.slice(1) + obj.kind;
    if (typeof k8s[type]?.getAttributeTypeMap !== "function") {
      problems.push(`the client knows no type ${type}`);
    } else {
      const unknown = [];
      unknownFields(obj, type, "", unknown);
      if (unknown.length) problems.push(`unknown fields: ${unknown.join(", ")}`);
    }
    checked++;
    if (problems.length) {
      failed++;
      console.log(`INVALID ${what}: ${problems.join("; ")}`);
    } else {
      console.log(`ok ${what}`);
    }
  }
}
console.log(`${checked} objects checked, ${failed} invalid`);
process.exit(failed || checked === 0 ? 1 : 0);
