// inbox.js -- a loopback ActivityPub inbox for the delivery tests and benchmark.
// It checks every POST independently of scotty's code (Node's crypto): the
// draft-cavage Signature against the public key registered for its keyId, and the
// Digest against the body. It answers by path:
//   /s/<code>/...  that status      /hang/...  never answers      /reset/...  drops the connection
//   /knock/...     401 to a draft-cavage signature, 202 to a valid RFC 9421 one
//   /slow/<ms>/... 202 after ms milliseconds (a real inbox's latency)
//   anything else  202
// and appends one JSON line per request to --log (unless --count-only), or keeps
// counts only, served at GET /_stats (with the number of TCP connections that carried deliveries).
// Usage: node inbox.js --port-file F --keys keys.json [--log F] [--count-only]
//        [--addresses 127.0.0.1,127.0.0.2]
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const opts = { addresses: '127.0.0.1' };
for (let i = 2; i < process.argv.length; i += 2) opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (process.argv.includes('--count-only')) opts['count-only'] = true;
// keyId -> public key, parsed once (a PEM handed to crypto.verify is parsed again on every call)
const keys = {};
for (const [id, pem] of Object.entries(JSON.parse(fs.readFileSync(opts.keys, 'utf8')))) {
  keys[id] = crypto.createPublicKey(pem);
}
// first_at and last_at: when the first delivery since the last GET /_stats?mark and the
// latest one arrived, in ms on this process's monotonic clock (0: none yet)
const stats = { received: 0, answered: 0, sig_ok: 0, sig_bad: 0, connections: 0, by_path: {},
                first_at: 0, last_at: 0 };
const held = new Set(); // sockets of /hang requests, closed on exit

// RFC 9421: Signature-Input sig1=(components);params, Signature sig1=:b64:, and
// Content-Digest sha-256=:b64: matching the body.
function verifyRfc9421(req, body) {
  const input = /^sig1=(\(([^)]*)\).*)$/.exec(req.headers['signature-input'] || '');
  const sig = /^sig1=:([^:]*):$/.exec(req.headers.signature || '');
  if (!input || !sig) return 'malformed Signature-Input or Signature';
  const keyid = /;keyid="([^"]*)"/.exec(input[1]);
  const key = keyid && keys[keyid[1]];
  if (!key) return `unknown keyid ${keyid && keyid[1]}`;
  const values = {
    '"@method"': req.method, '"@target-uri"': `http://${req.headers.host}${req.url}`,
    '"content-digest"': req.headers['content-digest'],
  };
  const components = input[2].split(' ');
  for (const need of ['"@method"', '"@target-uri"', '"content-digest"']) {
    if (!components.includes(need)) return `${need} not covered`;
  }
  const base = components.map((c) => `${c}: ${values[c]}`).concat(`"@signature-params": ${input[1]}`).join('\n');
  if (!crypto.verify('sha256', Buffer.from(base), key, Buffer.from(sig[1], 'base64'))) {
    return 'RFC 9421 signature does not verify';
  }
  const want = 'sha-256=:' + crypto.createHash('sha256').update(body).digest('base64') + ':';
  if (req.headers['content-digest'] !== want) return `Content-Digest ${req.headers['content-digest']} != ${want}`;
  return null;
}

function verifySignature(req, body) {
  if (req.headers['signature-input']) return verifyRfc9421(req, body);
  const sig = req.headers.signature;
  if (!sig) return 'no Signature header';
  const params = {};
  for (const m of sig.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]] = m[2];
  const key = keys[params.keyId];
  if (!key) return `unknown keyId ${params.keyId}`;
  if (params.algorithm !== 'rsa-sha256') return `algorithm ${params.algorithm}`;
  const names = (params.headers || 'date').split(' ');
  for (const need of ['(request-target)', 'host', 'date', 'digest']) {
    if (!names.includes(need)) return `${need} not signed`;
  }
  const lines = names.map((n) => {
    if (n === '(request-target)') return `(request-target): ${req.method.toLowerCase()} ${req.url}`;
    return `${n}: ${req.headers[n]}`;
  });
  const ok = crypto.verify('sha256', Buffer.from(lines.join('\n')), key, Buffer.from(params.signature, 'base64'));
  if (!ok) return 'signature does not verify';
  const want = 'SHA-256=' + crypto.createHash('sha256').update(body).digest('base64');
  if (req.headers.digest !== want) return `Digest ${req.headers.digest} != ${want}`;
  const age = Math.abs(Date.now() - Date.parse(req.headers.date)) / 1000;
  if (!(age < 3600)) return `Date ${req.headers.date} is off by ${age} s`;
  return null;
}

function handle(req, res) {
  const mark = req.url === '/_stats?mark';
  if (req.method === 'GET' && (req.url === '/_stats' || mark)) {
    if (mark) stats.first_at = 0;
    if (!req.socket.statsOnly) stats.connections--; // count the inbox's connections only
    req.socket.statsOnly = true;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const error = verifySignature(req, body);
    const kind = req.url.split('/')[1];
    stats.received++;
    stats.last_at = performance.now();
    if (!stats.first_at) stats.first_at = stats.last_at;
    if (error) stats.sig_bad++; else stats.sig_ok++;
    stats.by_path[req.url] = (stats.by_path[req.url] || 0) + 1;
    if (!opts['count-only']) {
      fs.appendFileSync(opts.log, JSON.stringify({
        host: req.socket.localAddress, method: req.method, path: req.url, headers: req.headers,
        body: body.toString('utf8'), sig_error: error, rfc9421: !!req.headers['signature-input'],
      }) + '\n');
    }
    if (kind === 'hang') {
      held.add(req.socket);
      return;
    }
    if (kind === 'reset') {
      req.socket.destroy();
      return;
    }
    let status = kind === 's' ? parseInt(req.url.split('/')[2], 10) : 202;
    if (kind === 'knock') status = !error && req.headers['signature-input'] ? 202 : 401;
    const answer = () => {
      stats.answered++;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(error ? `signature: ${error}\n` : 'ok\n');
    };
    if (kind === 'slow') setTimeout(answer, parseInt(req.url.split('/')[2], 10));
    else answer();
  });
}

const addresses = opts.addresses.split(',');
let port = 0;
const servers = [];
function listenNext(i) {
  if (i === addresses.length) {
    fs.writeFileSync(opts['port-file'] + '.tmp', String(port));
    fs.renameSync(opts['port-file'] + '.tmp', opts['port-file']);
    return;
  }
  const s = http.createServer(handle);
  s.on('connection', () => { stats.connections++; });
  s.keepAliveTimeout = 30000;
  servers.push(s);
  s.listen(port, addresses[i], () => {
    port = s.address().port;
    listenNext(i + 1);
  });
}
listenNext(0);
process.on('SIGTERM', () => {
  for (const sock of held) sock.destroy();
  process.exit(0);
});
