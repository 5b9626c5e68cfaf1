#!/usr/bin/env node
// Writes core/tests/fixtures/map_reference.json: what two widely used npm
// converters say about WGS-84 -> GCJ-02 -> BD-09 and back, at a grid over
// Zhuhai, cities across China and points outside it, plus the RFC 3986
// percent-encoding of station names. core/tests/maps_reference.rs compares
// fushi-core's geo and maps modules with it.
//
//   cd scripts/reference && npm ci      # once: gcoord, coordtransform from npm
//   node scripts/reference/maps.js            # rewrite the fixture
//   node scripts/reference/maps.js --check    # exit 1 if the fixture is stale
//
// * gcoord (MIT): transform() between WGS84, GCJ02 and BD09. Its GCJ-02
//   "in China" rectangle is the one fushi-core uses (lon 72.004-137.8347,
//   lat 0.8293-55.8271); its GCJ02->WGS84 iterates to 1e-6 degrees; its
//   BD09->GCJ02 is the published one-step inverse.
// * coordtransform (MIT): gcj02tobd09 / bd09togcj02, the same published
//   BD-09 formulas written independently (its own China rectangle differs,
//   so only its BD-09 functions are recorded).
// * Names: encodeURIComponent plus escaping of ! ' ( ) *, i.e. RFC 3986
//   unreserved characters only.
'use strict';

const fs = require('fs');
const path = require('path');
const gcoord = require('gcoord');
const coordtransform = require('coordtransform');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'core', 'tests', 'fixtures', 'map_reference.json');

// [name, lat, lon] in WGS-84.
const PLACES = [
  ['Tiananmen, Beijing', 39.908692, 116.397477],
  ['The Bund, Shanghai', 31.240018, 121.490317],
  ['Canton Tower, Guangzhou', 23.10647, 113.32446],
  ['Urumqi', 43.825592, 87.616848],
  ['Harbin', 45.803775, 126.534967],
  ['Lhasa', 29.64415, 91.1145],
  ['Sanya', 18.252847, 109.511909],
  ['Macau, Senado Square', 22.193, 113.5399],
  ['Hong Kong, Central', 22.2819, 114.1582],
  ['Hengqin, Zhuhai', 22.1167, 113.5333],
  ['London', 51.5007, -0.1246],
  ['Sydney', -33.8568, 151.2153],
  ['New York', 40.6892, -74.0445],
  ['Tokyo', 35.6812, 139.7671],
];

function points() {
  const out = PLACES.map(([name, lat, lon]) => ({ name, lat, lon }));
  // Zhuhai: 8 x 8 grid, 22.10-22.45 N, 113.30-113.65 E.
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 8; j++) {
      const lat = Math.round((22.10 + 0.05 * i) * 1e6) / 1e6;
      const lon = Math.round((113.30 + 0.05 * j) * 1e6) / 1e6;
      out.push({ name: 'Zhuhai grid', lat, lon });
    }
  }
  return out;
}

const NAMES = [
  '香洲区纳凉点',
  '拱北 社区服务中心',
  '前山街道·翠微社区',
  'A&B=C?',
  "O'Brien (test) *!",
  '100% 便民',
  '😀 emoji',
];

function strictEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

const latlon = ([lon, lat]) => ({ lat, lon });

function build() {
  const rows = points().map((p) => {
    const w = [p.lon, p.lat];
    const gcj = gcoord.transform(w, gcoord.WGS84, gcoord.GCJ02);
    const bd = gcoord.transform(w, gcoord.WGS84, gcoord.BD09);
    return {
      name: p.name,
      wgs84: { lat: p.lat, lon: p.lon },
      gcoord: {
        wgs84_to_gcj02: latlon(gcj),
        gcj02_to_bd09: latlon(gcoord.transform(gcj, gcoord.GCJ02, gcoord.BD09)),
        wgs84_to_bd09: latlon(bd),
        bd09_to_gcj02: latlon(gcoord.transform(bd, gcoord.BD09, gcoord.GCJ02)),
        gcj02_to_wgs84: latlon(gcoord.transform(gcj, gcoord.GCJ02, gcoord.WGS84)),
        bd09_to_wgs84: latlon(gcoord.transform(bd, gcoord.BD09, gcoord.WGS84)),
      },
      coordtransform: {
        gcj02_to_bd09: latlon(coordtransform.gcj02tobd09(gcj[0], gcj[1])),
        bd09_to_gcj02: latlon(coordtransform.bd09togcj02(bd[0], bd[1])),
      },
    };
  });
  const pkg = (name) => JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  return {
    generator: 'scripts/reference/maps.js',
    reference: `gcoord ${pkg('gcoord')}, coordtransform ${pkg('coordtransform')}`,
    points: rows,
    names: NAMES.map((n) => ({ name: n, encoded: strictEncode(n) })),
  };
}

const text = JSON.stringify(build(), null, 1) + '\n';
if (process.argv.includes('--check')) {
  const old = fs.existsSync(FIXTURE) ? fs.readFileSync(FIXTURE, 'utf8') : '';
  if (old !== text) {
    console.error(`maps.js: ${path.relative(ROOT, FIXTURE)} is not current; run node scripts/reference/maps.js`);
    process.exit(1);
  }
  console.log(`maps.js: ${path.relative(ROOT, FIXTURE)} is current`);
} else {
  fs.writeFileSync(FIXTURE, text);
  const n = JSON.parse(text);
  console.log(`maps.js: wrote ${path.relative(ROOT, FIXTURE)} (${n.points.length} points, ${n.names.length} names)`);
}
