// Checks Flux with the Flux language server (flux-lsp compiled to WebAssembly, Node build).
//
// stdin: a JSON list of {"name", "query", "extern", "ast"}: "extern" is the File AST
// influxdb-client sends beside the query (its parameters as option statements) or null;
// "ast": true asks for the parsed syntax tree back (a test reads literals from it).
// argv[2]: the file the answer goes to (the server logs to stdout), a JSON list of
// {"name", "text", "ast", "diagnostics": [{"line", "character", "message"}]}, where "text" is
// what was checked: the query, with the extern merged in as the server merges it (see
// withExtern), its lines 0-based. Flux's formatter writes a string parameter's "${" as is,
// which reads back as interpolation: parameters checked this way must not contain "${".
//
// The server is driven through its LSP messages (initialize, didOpen) and answers with
// textDocument/publishDiagnostics: the same parse and semantic (type) check an editor shows.
"use strict";

const { Lsp, format_from_js_file, parse } = require("@influxdata/flux-lsp-node");

const TIMEOUT_MS = 20000;

// The server merges the extern File and the query into one package; as one text, that is the
// query's imports, then the extern's option statements, then the rest of the query.
function withExtern(query, extern) {
  const prelude = format_from_js_file(extern).trimEnd();
  const imports = parse(query).imports || [];
  const lines = query.split("\n");
  const split = Math.max(0, ...imports.map((i) => i.location.end.line));
  return [...lines.slice(0, split), prelude, ...lines.slice(split)].join("\n");
}

async function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const waiting = new Map();
  const lsp = new Lsp();
  lsp.onMessage((raw) => {
    const msg = JSON.parse(raw);
    if (msg.method !== "textDocument/publishDiagnostics") return;
    const done = waiting.get(msg.params.uri);
    if (done) {
      waiting.delete(msg.params.uri);
      done(msg.params.diagnostics);
    }
  });
  lsp.run().catch((err) => {
    process.stderr.write(`flux-lsp stopped: ${err}\n`);
    process.exit(2);
  });
  let id = 0;
  const request = (method, params) =>
    lsp.send(JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }));
  const notify = (method, params) =>
    lsp.send(JSON.stringify({ jsonrpc: "2.0", method, params }));

  await request("initialize", { capabilities: {} });
  await notify("initialized", {});
  const out = [];
  for (const [index, doc] of input.entries()) {
    const text = doc.extern ? withExtern(doc.query, doc.extern) : doc.query;
    const uri = `file:///query-${index}.flux`;
    const published = new Promise((resolve, reject) => {
      waiting.set(uri, resolve);
      setTimeout(() => reject(new Error(`no diagnostics for ${doc.name}`)), TIMEOUT_MS).unref();
    });
    await notify("textDocument/didOpen", {
      textDocument: { uri, languageId: "flux", version: 1, text },
    });
    const diagnostics = await published;
    await notify("textDocument/didClose", { textDocument: { uri } });
    out.push({
      name: doc.name,
      text,
      ast: doc.ast ? parse(text) : null,
      diagnostics: diagnostics.map((d) => ({
        line: d.range.start.line,
        character: d.range.start.character,
        message: d.message,
      })),
    });
  }
  require("fs").writeFileSync(process.argv[2], JSON.stringify(out));
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(2);
});
