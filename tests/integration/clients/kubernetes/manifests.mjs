// Helpers for tests/integration/kubernetes_manifests_test.cpp:
//   node manifests.mjs compare RAW.yaml... -- RENDERED.yaml
//     The raw manifests (deploy/kubernetes) and the Helm chart rendered with its defaults
//     deploy the same thing: every field below is equal (labels and namespaces may differ).
//   node manifests.mjs config FILE.yaml OUT.toml
//     Writes the apiaryd.toml of the ConfigMap in FILE.yaml to OUT.toml.
//   node manifests.mjs prestop FILE.yaml
//     Prints the StatefulSet's preStop command, one argument per line.
import { readFileSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";

function objects(files) {
  const out = new Map();
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" })) {
      const obj = doc.toJS();
      if (obj) out.set(`${obj.kind}/${obj.metadata.name}`, obj);
    }
  }
  return out;
}

// The settings of a TOML file of `key = value` lines, comments left out.
function settings(toml) {
  const out = {};
  for (const line of toml.split("\n")) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*(.+?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const container = (s) => s.spec.template.spec.containers[0];
// What the two must agree on, per kind: [name, function of the object].
const fields = {
  StatefulSet: [
    ["replicas", (s) => s.spec.replicas],
    ["serviceName", (s) => s.spec.serviceName],
    ["podManagementPolicy", (s) => s.spec.podManagementPolicy],
    ["updateStrategy", (s) => s.spec.updateStrategy],
    ["terminationGracePeriodSeconds", (s) => s.spec.template.spec.terminationGracePeriodSeconds],
    ["pod securityContext", (s) => s.spec.template.spec.securityContext],
    ["image", (s) => container(s).image.split(":")[0]],
    ["args", (s) => container(s).args],
    ["env", (s) => container(s).env],
    ["ports", (s) => container(s).ports],
    ["startupProbe", (s) => container(s).startupProbe],
    ["livenessProbe", (s) => container(s).livenessProbe],
    ["readinessProbe", (s) => container(s).readinessProbe],
    ["lifecycle", (s) => container(s).lifecycle],
    ["resources", (s) => container(s).resources],
    ["container securityContext", (s) => container(s).securityContext],
    ["volumeMounts", (s) => container(s).volumeMounts],
    ["volumes", (s) => s.spec.template.spec.volumes],
    ["volumeClaimTemplates", (s) => s.spec.volumeClaimTemplates.map((v) => v.spec)],
  ],
  Service: [
    ["type", (s) => s.spec.type ?? "ClusterIP"],
    ["clusterIP", (s) => s.spec.clusterIP],
    ["publishNotReadyAddresses", (s) => s.spec.publishNotReadyAddresses],
    ["ports", (s) => s.spec.ports],
  ],
  PodDisruptionBudget: [["maxUnavailable", (p) => p.spec.maxUnavailable]],
  NetworkPolicy: [
    ["policyTypes", (n) => n.spec.policyTypes],
    ["ingress ports", (n) => n.spec.ingress.map((rule) => rule.ports)],
    ["ingress from pods", (n) => n.spec.ingress.map((rule) => Boolean(rule.from?.[0]?.podSelector))],
  ],
  ConfigMap: [["apiaryd.toml settings", (c) => settings(c.data["apiaryd.toml"])]],
  Secret: [["keys", (s) => Object.keys(s.stringData ?? s.data ?? {}).sort()]],
};

const [command, ...args] = process.argv.slice(2);
if (command === "config") {
  const [file, out] = args;
  const config = [...objects([file]).values()].find((o) => o.kind === "ConfigMap");
  writeFileSync(out, config.data["apiaryd.toml"]);
  process.exit(0);
}
if (command === "prestop") {
  const set = [...objects([args[0]]).values()].find((o) => o.kind === "StatefulSet");
  const hook = container(set).lifecycle?.preStop?.exec?.command;
  if (!hook) process.exit(1);
  console.log(hook.join("\n"));
  process.exit(0);
}
if (command !== "compare") {
  console.log("usage: manifests.mjs compare RAW... -- RENDERED | config FILE OUT | prestop FILE");
  process.exit(2);
}
const split = args.indexOf("--");
const raw = objects(args.slice(0, split));
const rendered = objects(args.slice(split + 1));
let differences = 0;
let compared = 0;
for (const [id, obj] of raw) {
  if (!fields[obj.kind]) continue;  // the Namespace: Helm installs into one that exists
  if (obj.kind === "Secret" && id === "Secret/apiary-tls") continue;  // the chart takes an existing one
  const other = rendered.get(id);
  if (!other) {
    console.log(`MISSING from the chart: ${id}`);
    differences++;
    continue;
  }
  for (const [name, get] of fields[obj.kind]) {
    compared++;
    const a = get(obj);
    const b = get(other);
    if (!isDeepStrictEqual(a, b)) {
      differences++;
      console.log(`DIFFERENT ${id} ${name}:\n  raw:   ${JSON.stringify(a)}\n  chart: ${JSON.stringify(b)}`);
    }
  }
}
for (const id of rendered.keys()) {
  if (!raw.has(id)) {
    console.log(`MISSING from deploy/kubernetes: ${id}`);
    differences++;
  }
}
console.log(`${compared} fields compared, ${differences} differences`);
process.exit(differences || compared === 0 ? 1 : 0);
