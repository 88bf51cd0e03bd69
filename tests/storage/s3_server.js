// s3_server.js -- test-only S3 for scotty's storage tests: a real S3 server that
// verifies SigV4 (@20minutes/s3rver) on loopback, plus a small fault-injecting
// proxy in front of it. The proxy forwards every request unchanged (Host header
// included, so signatures still verify) except that after a control call
// `GET /__fault?count=N&after=K` it lets K requests through and answers 500 to
// the N after them; `GET /__stats` returns how many requests it saw, how many it
// failed, and the method, URL and object headers (ACL, Cache-Control, storage
// class, Content-Type) of the last one.
//
// Usage: node s3_server.js DIR BUCKET ACCESS_KEY SECRET PORTS_FILE
// Writes "S3_PORT PROXY_PORT" to PORTS_FILE once both listen; stops on SIGTERM.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const S3rver = require('@20minutes/s3rver');
const { DUMMY_ACCOUNT } = require('@20minutes/s3rver/lib/models/account');

const [dir, bucket, accessKey, secret, portsFile] = process.argv.slice(2);
if (!portsFile) {
  console.error('usage: node s3_server.js DIR BUCKET ACCESS_KEY SECRET PORTS_FILE');
  process.exit(2);
}

DUMMY_ACCOUNT.createKeyPair(accessKey, secret);

const s3 = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket }],
});

let faultsLeft = 0;
let passBeforeFaults = 0;
let seen = 0;
let failed = 0;
let lastMethod = '';
let lastUrl = '';
let lastHeaders = {};

function startProxy(s3Port) {
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/__fault') {
      faultsLeft = parseInt(url.searchParams.get('count') || '0', 10);
      passBeforeFaults = parseInt(url.searchParams.get('after') || '0', 10);
      res.end('ok\n');
      return;
    }
    if (url.pathname === '/__stats') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ seen, failed, faultsLeft, lastMethod, lastUrl, lastHeaders }) + '\n');
      return;
    }
    seen++;
    lastMethod = req.method;
    lastUrl = req.url;
    lastHeaders = {
      acl: req.headers['x-amz-acl'] || null,
      cacheControl: req.headers['cache-control'] || null,
      storageClass: req.headers['x-amz-storage-class'] || null,
      contentType: req.headers['content-type'] || null,
    };
    if (passBeforeFaults > 0) {
      passBeforeFaults--;
    } else if (faultsLeft > 0) {
      faultsLeft--;
      failed++;
      req.resume();
      req.on('end', () => {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'application/xml');
        res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>' +
                '<Message>injected by the test proxy</Message></Error>');
      });
      return;
    }
    const upstream = http.request({
      host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers,
    }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => {
      res.statusCode = 502;
      res.end(String(e));
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

(async () => {
  const addr = await s3.run();
  const proxy = await startProxy(addr.port);
  fs.writeFileSync(portsFile + '.tmp', `${addr.port} ${proxy.address().port}\n`);
  fs.renameSync(portsFile + '.tmp', portsFile);
  process.on('SIGTERM', async () => {
    proxy.close();
    await s3.close();
    process.exit(0);
  });
})().catch((e) => {
  console.error('s3_server.js failed to start:', e);
  process.exit(1);
});
