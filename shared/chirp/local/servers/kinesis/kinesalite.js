// Kinesalite as the harness runs it: loopback only, TLS with the server set's certificate (clients verify it, as
// they verify kinesis.<region>.amazonaws.com), streams ACTIVE at once, and LevelDB under <data-dir> when given
// (every acknowledged put is in LevelDB's log before the reply: a SIGKILL loses none).
//   node kinesalite.js <node_modules> <port> <cert.pem> <key.pem> [<data-dir>]
'use strict'
const fs = require('fs')
const path = require('path')

const [modules, port, cert, key, dataDir] = process.argv.slice(2)
const kinesalite = require(path.join(modules, 'kinesalite'))
const options = {
  ssl: true,
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  createStreamMs: 0,
  deleteStreamMs: 0,
  updateStreamMs: 0,
  shardLimit: 64,
}
if (dataDir) options.path = dataDir
// kinesalite rethrows a request's 'error' event, so a client that hangs up mid-request (a timeout, a killed
// process) would take the whole server down; Kinesis shrugs that off. Nothing was stored for such a request.
process.on('uncaughtException', (err) => {
  if (err.code === 'ECONNRESET' && err.message === 'aborted') return console.error(`client hung up: ${err.message}`)
  console.error(err)
  process.exit(1)
})
const server = kinesalite(options)
server.listen(Number(port), '127.0.0.1', () => console.log(`kinesalite listening on https://127.0.0.1:${port}`))
