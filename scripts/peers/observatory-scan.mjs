// The MDN HTTP Observatory's scan against a host this machine cannot resolve, on a port of
// its own: `node observatory-scan.mjs <observatory package dir> <host> <ip> <https port>`.
// Its CLI takes a bare hostname (ports 443 and 80, the public DNS); this wrapper answers the
// host's lookups with <ip> and scans <host>:<port>. The plain-HTTP probe then meets the TLS
// port, so the Observatory's redirection test fails alike on every run and is not compared.
import dns from "node:dns";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, host, ip, port] = process.argv.slice(2);
const lookup = dns.lookup;
dns.lookup = (name, options, callback) => {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  if (name !== host) return lookup(name, options, callback);
  if (options && options.all) return callback(null, [{ address: ip, family: 4 }]);
  return callback(null, ip, 4);
};
const scanner = pathToFileURL(path.join(packageDir, "src", "scanner", "index.js"));
const { scan } = await import(scanner.href);
try {
  const result = await scan(`${host}:${port}`);
  const tests = Object.fromEntries(Object.entries(result.tests).map(
    ([name, t]) => [name, { pass: t.pass, result: t.result, scoreModifier: t.scoreModifier }]));
  console.log(JSON.stringify({ scan: { grade: result.scan.grade, score: result.scan.score },
    tests }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
