// Checks Kubernetes manifests (Jobs, and Argo Workflows) against the API's own
// schemas, as the API server would on `kubectl apply`:
// node check.mjs [--json] FILE.yaml...  Each document must be a kind this
// checker knows; exit 0 when all validate, 1 with the
// reasons. With --json, each valid document is printed as one line of JSON, as
// this YAML 1.2 reader read it (the tests compare it with a YAML 1.1 reader's).
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import { Job } from "kubernetes-models/batch/v1";
import { Workflow } from "@kubernetes-models/argo-workflows/argoproj.io/v1alpha1";

const kinds = { "batch/v1 Job": Job, "argoproj.io/v1alpha1 Workflow": Workflow };

const args = process.argv.slice(2);
const json = args[0] === "--json";
let failed = 0;
for (const file of json ? args.slice(1) : args) {
  let docs;
  try {
    // The core schema: what YAML 1.2 readers such as the API server's take.
    docs = yaml.loadAll(readFileSync(file, "utf8"), null, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    console.log(`${file}: not YAML: ${err.message}`);
    failed++;
    continue;
  }
  for (const doc of docs) {
    const model = kinds[`${doc?.apiVersion} ${doc?.kind}`];
    if (!model) {
      console.log(`${file}: no schema here for ${doc?.apiVersion} ${doc?.kind}`);
      failed++;
      continue;
    }
    try {
      new model(doc).validate();
      const name = doc.metadata?.name ?? doc.metadata?.generateName;
      console.log(json ? JSON.stringify(doc) : `${file}: ${doc.kind} ${name}: valid`);
    } catch (err) {
      console.log(`${file}: ${doc.kind} ${doc.metadata?.name ?? doc.metadata?.generateName}: ${err.message}`);
      failed++;
    }
  }
}
process.exit(failed ? 1 : 0);
