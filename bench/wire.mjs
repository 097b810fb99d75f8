// npm run bench:wire: marshal+unmarshal throughput of ipnbus's wire layer against dbus-next's, same process.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { barChartSvg, defaultResultsDir, markdownTable, textTable, writeResults } from '@ipnbus/bench/report';
import { compareOpsPerSecond } from '@ipnbus/bench/timing';
import { decodeMessage, encodeMessage, Variant as IpnVariant } from '../packages/bus/dist/wire/index.js';

const require = createRequire(import.meta.url);
const { marshallMessage, messageToJsFmt } = require('dbus-next/lib/marshall-compat.js');
const dbusMessage = require('dbus-next/lib/message.js');

// Two messages a bus carries a lot of: a small sensor-style signal and a 4 KiB blob.
const header = { type: 4, flags: 0, serial: 4242, path: '/org/example/Sensor', interface: 'org.example.Sensor', member: 'Reading' };
const cases = [
  { name: 'small', label: "signal 'dsu'", msg: { ...header, signature: 'dsu', body: [21.5, 'celsius', 7] } },
  { name: '4k', label: "signal 'ay' 4 KiB", msg: { ...header, signature: 'ay', body: [randomBytes(4096)] } },
];

// dbus-next's marshallMessage replaces msg.body with its internal format, so it gets a fresh shell each time.
const dn = {
  encode: (m) => marshallMessage({ ...m })[0],
  decode: (b) => messageToJsFmt(dbusMessage.unmarshall(b)),
};
const ipn = { encode: (m) => encodeMessage(m), decode: (b) => decodeMessage(b) };

const timing = { rounds: 9, roundMs: 150, warmupMs: 250 };
const rows = [];
const results = {};
let sink = 0;

for (const c of cases) {
  const bytesIpn = ipn.encode(c.msg);
  const bytesDn = dn.encode(c.msg);
  if (!bytesIpn.equals(bytesDn)) throw new Error(`${c.name}: ipnbus and dbus-next bytes differ`);
  const back = ipn.decode(bytesDn);
  if (back.signature !== c.msg.signature || back.body.length !== c.msg.body.length) throw new Error(`${c.name}: decode mismatch`);
  results[c.name] = { bytes: bytesIpn.length };
  const bytes = { ipnbus: bytesIpn, 'dbus-next': bytesDn };
  const codecs = { ipnbus: ipn, 'dbus-next': dn };
  const each = (make) => Object.fromEntries(Object.entries(codecs).map(([impl, codec]) => [impl, make(impl, codec)]));
  // Each measure runs the two implementations in alternating rounds.
  const roundtrip = compareOpsPerSecond(each((impl, codec) => (n) => {
    for (let i = 0; i < n; i++) sink += codec.decode(codec.encode(c.msg)).serial;
  }), timing);
  const encode = compareOpsPerSecond(each((impl, codec) => (n) => {
    for (let i = 0; i < n; i++) sink += codec.encode(c.msg).length;
  }), timing);
  const decode = compareOpsPerSecond(each((impl, codec) => (n) => {
    for (let i = 0; i < n; i++) sink += codec.decode(bytes[impl]).serial;
  }), timing);
  for (const impl of Object.keys(codecs)) {
    results[c.name][impl] = { roundtrip: roundtrip[impl].opsPerSec, encode: encode[impl].opsPerSec, decode: decode[impl].opsPerSec, roundtripSamples: roundtrip[impl].samples };
    rows.push({ message: c.label, impl, bytes: bytes[impl].length, 'encode+decode msg/s': roundtrip[impl].opsPerSec, 'encode msg/s': encode[impl].opsPerSec, 'decode msg/s': decode[impl].opsPerSec });
  }
}

const ratio = (name, k) => results[name].ipnbus[k] / results[name]['dbus-next'][k];
const summary = {
  ratio_small: +ratio('small', 'roundtrip').toFixed(2),
  ratio_4k: +ratio('4k', 'roundtrip').toFixed(2),
  ipnbus_small_msgs_per_s: Math.round(results.small.ipnbus.roundtrip),
  ipnbus_4k_msgs_per_s: Math.round(results['4k'].ipnbus.roundtrip),
  dbus_next_small_msgs_per_s: Math.round(results.small['dbus-next'].roundtrip),
  dbus_next_4k_msgs_per_s: Math.round(results['4k']['dbus-next'].roundtrip),
  ratio_small_encode: +ratio('small', 'encode').toFixed(2),
  ratio_small_decode: +ratio('small', 'decode').toFixed(2),
  ratio_4k_encode: +ratio('4k', 'encode').toFixed(2),
  ratio_4k_decode: +ratio('4k', 'decode').toFixed(2),
};

const columns = ['message', 'impl', 'bytes', 'encode+decode msg/s', 'encode msg/s', 'decode msg/s'];
console.log(textTable(columns, rows));
console.log(`\nipnbus / dbus-next, encode+decode: small ${summary.ratio_small}x, 4 KiB ${summary.ratio_4k}x`);

const env = { node: process.version, platform: `${process.platform}-${process.arch}`, date: new Date().toISOString() };
const markdown = [
  '# Wire codec: ipnbus vs dbus-next',
  '',
  `Whole-message marshal + unmarshal, median of ${timing.rounds} rounds interleaved between the two, same process (${env.node}, ${env.date}).`,
  '',
  markdownTable(columns, rows),
  '',
  `Ratio (ipnbus / dbus-next, encode+decode): small **${summary.ratio_small}x**, 4 KiB **${summary.ratio_4k}x**.`,
].join('\n');
const svg = barChartSvg({
  title: 'Wire codec encode+decode, messages/s',
  unit: 'msg/s',
  log: true,
  groups: cases.map((c) => ({
    name: c.label,
    bars: ['ipnbus', 'dbus-next'].map((impl) => ({ label: impl, value: results[c.name][impl].roundtrip })),
  })),
});
writeResults(defaultResultsDir(), 'wire', { data: { env, timing, results, summary, rows }, markdown, svg });
if (sink === 0.5) console.log(sink); // keeps the measured work observable
console.log(JSON.stringify(summary));
