#!/usr/bin/env node
// Validates Kubernetes objects offline against the API's OpenAPI schemas (kubernetes-models,
// @kubernetes-models/prometheus-operator for the monitoring CRDs and
// @kubernetes-models/cert-manager for the TLS Certificate), like the API server
// with strict field validation would: wrong types, missing required fields, unknown kinds
// and unknown fields all fail.
//
// Usage: validate.js FILE...   (multi-document YAML; "-" reads standard input)
// Prints one line per object; exit status 1 when any object is invalid.
"use strict";

const fs = require("fs");
const YAML = require("yaml");

const MODEL_PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/cert-manager",
];

// The model class for apiVersion/kind, or null when no package knows it.
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  for (const pkg of MODEL_PACKAGES) {
    let mod;
    try {
      mod = require(`${pkg}/${apiVersion}`);
    } catch {
      continue;
    }
    if (typeof mod[kind] === "function") return mod[kind];
  }
  return null;
}

// The schema validators read every property they know by name and enumerate the keys of
// maps. Running one over a Proxy that records those reads tells which fields it never looked
// at: the fields the schema does not have.
function tracked(root) {
  const seen = new Map();
  function wrap(value, path) {
    if (value === null || typeof value !== "object") return value;
    const record = { keys: new Set(), enumerated: false };
    seen.set(path, record);
    return new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key !== "string") return v;
        record.keys.add(key);
        return v !== null && typeof v === "object" ? wrap(v, `${path}/${key}`) : v;
      },
      has(target, key) {
        if (typeof key === "string") record.keys.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        record.enumerated = true;
        return Reflect.ownKeys(target);
      },
      getOwnPropertyDescriptor(target, key) {
        if (typeof key === "string") record.keys.add(key);
        return Reflect.getOwnPropertyDescriptor(target, key);
      },
    });
  }
  return { proxy: wrap(root, ""), seen };
}

function unknownFields(value, seen, path = "", out = []) {
  if (value === null || typeof value !== "object") return out;
  const record = seen.get(path);
  if (!record) return out;
  for (const key of Object.keys(value)) {
    const child = `${path}/${key}`;
    if (!Array.isArray(value) && !record.enumerated && !record.keys.has(key)) {
      out.push(child);
      continue;
    }
    unknownFields(value[key], seen, child, out);
  }
  return out;
}

function validateObject(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return ["not an object"];
  }
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`unknown apiVersion/kind ${obj.apiVersion}/${obj.kind}`];
  const errors = [];
  if (!obj.metadata || typeof obj.metadata.name !== "string" || !obj.metadata.name) {
    errors.push("metadata.name is missing");
  }
  const { proxy, seen } = tracked(obj);
  try {
    Model.prototype.validate.call(proxy);
  } catch (e) {
    errors.push(e.message);
    return errors; // a failed validator stops early: its unread fields say nothing
  }
  for (const field of unknownFields(obj, seen)) errors.push(`unknown field ${field}`);
  return errors;
}

function main(files) {
  let failed = 0;
  let count = 0;
  for (const file of files) {
    const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
    const docs = YAML.parseAllDocuments(text);
    for (const doc of docs) {
      if (doc.errors.length) {
        failed++;
        console.log(`FAIL ${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
        continue;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue; // empty document
      count++;
      const name = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
      const errors = validateObject(obj);
      if (errors.length) {
        failed++;
        for (const e of errors) console.log(`FAIL ${file}: ${name}: ${e}`);
      } else {
        console.log(`ok   ${file}: ${name}`);
      }
    }
  }
  if (count === 0) {
    console.log("FAIL: no objects to validate");
    return 1;
  }
  console.log(`${count - failed} valid, ${failed} invalid`);
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
