#!/usr/bin/env node
// Writes core/tests/fixtures/hours_reference_2026.json: what opening_hours.js
// (the reference evaluator of OSM tools) says about a list of realistic
// opening_hours expressions at 13 times of every day of 2026, with the
// official Chinese 2026 holidays and make-up working days (调休).
// core/tests/hours_reference.rs compares fushi-core's evaluator with it.
//
//   cd scripts/reference && npm ci      # once: opening_hours.js from npm
//   node scripts/reference/hours.js     # rewrite the fixture
//   node scripts/reference/hours.js --check   # exit 1 if the fixture is stale
//
// How the inputs reach opening_hours.js:
//
// * Local time: the process runs in Asia/Shanghai (TZ is set below before any
//   Date is made); every instant is a local wall-clock time of 2026.
// * Holidays: the calendar is read from `CHINA_2026` in core/src/hours/calendar.rs (the
//   text that HolidayCalendar::china_2026() parses, checked day by day against
//   the State Council notice), so both evaluators get the same dates; the
//   fixture records them and the Rust test checks they equal china_2026().
//   opening_hours.js takes public holidays only from its built-in country
//   tables, which for China list fixed dates (元旦, 妇女节, 劳动节, ...) without
//   the lunar holidays or the yearly schedule. So the library source is loaded
//   with its `cn` PH table replaced by one entry per 2026 holiday date (entries
//   with `year: 2026`), and the script checks that `PH` then matches exactly
//   those dates and no other day of the year.
// * Position: the station is in Zhuhai (22.27 N, 113.55 E), given as the
//   Nominatim object (`country_code: "cn"`); opening_hours.js computes sunrise
//   and sunset there with suncalc.
// * Make-up working days: opening_hours.js has no such concept. The rule
//   fushi-core documents (core/src/hours/mod.rs) is: a make-up day uses the weekday
//   rules of the weekday it stands in for (Monday in the official calendar),
//   while rules naming its date, week or month apply as written; overnight
//   spill from the previous day comes from that day as it was evaluated.
//   The expectation is derived by a date-specific rewrite: to evaluate an
//   instant on day X, the evaluator looks at the rules of X and, for times
//   past midnight, of X-1. Every weekday list of the expression (`Mo-Fr`,
//   `Sa,Su`, ...) is rewritten so that the real weekday of X (and of X-1)
//   belongs to it exactly when the weekday that day stands in for does; other
//   weekdays keep their membership. If a list would become empty it gets a
//   weekday that is neither X's nor X-1's (so the rule matches neither day).
//   Example: Saturday 2026-10-10 stands in for Monday, so at any time on that
//   day `Mo-Fr 08:00-20:00` is evaluated as `Mo-Sa 08:00-20:00` and
//   `Sa,Su 10:00-16:00` as `Su 10:00-16:00`; on Sunday 10-11 (whose previous
//   day is the make-up Saturday) `Mo-Fr 20:00-08:00` is evaluated as
//   `Mo-Sa 20:00-08:00`, so the night that began on the make-up day runs on.
//   The rewritten expression is then evaluated by opening_hours.js at the
//   real instant, so dates, months, weeks and PH stay those of the real day.
//   Days whose own and previous day are ordinary are evaluated unchanged.
//   (The rewrite only handles plain weekday lists; the script refuses
//   expressions with nth-weekday `[...]` or day offsets after a weekday.)
'use strict';

process.env.TZ = 'Asia/Shanghai';

const fs = require('fs');
const path = require('path');
const Module = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'core', 'tests', 'fixtures', 'hours_reference_2026.json');
const HOURS_RS = path.join(ROOT, 'core', 'src', 'hours', 'calendar.rs');

const YEAR = 2026;
// Chosen to cross overnight spill (00:00-02:00), sunrise (05:40-07:08 in
// Zhuhai), office hours, sunset (17:40-19:13) and late evening.
const TIMES = ['00:00', '01:00', '02:00', '05:59', '06:30', '07:00', '09:00',
  '12:00', '14:00', '18:00', '18:45', '20:00', '23:30'];
const STATION = { lat: 22.27, lon: 113.55 };

// Realistic shapes: shops, offices, 24/7, PH off, PH special hours,
// overnight, month ranges, week ranges, date rules, sunrise/sunset.
const EXPRESSIONS = [
  '24/7',
  '24/7; PH off',
  'Mo-Fr 08:00-20:00; PH off',
  'Mo-Fr 09:00-17:00; Sa 09:00-12:00; Su,PH off',
  'Mo-Fr 08:00-12:00,13:30-17:30; PH off',
  'Mo-Sa 10:00-22:00; Su 10:00-21:00',
  'Mo-Su 10:00-22:00; PH 10:00-18:00',
  'Mo-Fr 08:00-20:00; Sa,Su 10:00-16:00; PH off',
  'Tu-Su 09:00-17:00; PH 09:00-17:00',
  'Sa,Su 09:00-17:00',
  'Mo-Fr 07:00-09:00,17:00-19:00',
  'Fr 18:00-02:00',
  'Mo-Fr 20:00-08:00',
  'Su 20:00-02:00',
  '22:00-06:00',
  'Mo-Th 11:00-14:00,17:00-22:00; Fr,Sa 11:00-14:00,17:00-02:00; Su 11:00-21:00',
  'Mo-Su 18:00-02:00; PH off',
  'Mo-Su 17:00-23:00; Fr,Sa 17:00-02:00',
  'Mo-Su 10:00-22:00; Feb 14 off',
  'Mo-Su 09:00-18:00; Oct 10 09:00-12:00',
  'Mo-Sa 08:00-18:00; PH off; May 09 08:00-12:00',
  'Mar-Nov Mo-Fr 08:00-18:00; Dec-Feb Mo-Fr 09:00-17:00',
  'Mo-Su 08:00-20:00; Feb off',
  'Jun-Sep 09:00-21:00',
  'Mar-Nov Mo-Sa 09:00-21:00',
  'week 01-26 Mo-Fr 09:00-17:00; week 27-53 Mo-Fr 10:00-18:00',
  'sunrise-sunset',
  'Mo-Su sunrise-sunset; PH off',
  '(sunrise+00:30)-(sunset-00:30)',
  'Mo-Fr 06:00-sunset; Sa,Su sunrise-20:00',
  'Su-Th 17:00-01:00; Fr,Sa 17:00-03:00',
  'Mo-Fr 08:00-12:00, We 14:00-18:00',
  'Mo-Fr 10:00-20:00; Sa,Su,PH 09:00-21:00',
  'Mo-Fr 08:00-18:00; Jul,Aug Mo-Fr 08:00-12:00',
  'Apr-Oct Mo-Su 06:00-21:00; Nov-Mar Mo-Su 07:00-20:00',
  'Mo-Fr 09:00-18:00; Sa 10:00-16:00; Feb 15-23 off',
  'Mo-Su 07:00-23:00; Dec 24-Jan 02 off',
];

const WEEKDAYS = ['Su', 'Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa']; // Date#getDay order

// -- the calendar, from the Rust source ------------------------------------

function readCalendar() {
  const src = fs.readFileSync(HOURS_RS, 'utf8');
  const m = src.match(/pub const CHINA_2026: &str = "\\\n([\s\S]*?)";/);
  if (!m) throw new Error(`CHINA_2026 not found in ${HOURS_RS}`);
  const holidays = [];
  const workdays = {}; // 'YYYY-MM-DD' -> weekday index it stands in for
  for (const raw of m[1].split('\n')) {
    const line = raw.split('#')[0].trim();
    if (!line) continue;
    const [date, kind, actsAs, extra] = line.split(/\s+/);
    if (extra !== undefined || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      throw new Error(`unexpected calendar line: ${raw}`);
    }
    if (kind === 'holiday' && actsAs === undefined) {
      holidays.push(date);
    } else if (kind === 'workday') {
      const idx = actsAs === undefined ? 1 : WEEKDAYS.indexOf(actsAs);
      if (idx < 0) throw new Error(`unexpected weekday in: ${raw}`);
      workdays[date] = idx;
    } else {
      throw new Error(`unexpected calendar line: ${raw}`);
    }
  }
  return { holidays, workdays };
}

// -- opening_hours.js with the 2026 Chinese holidays -------------------------

function loadOpeningHours(holidays) {
  const file = require.resolve('opening_hours');
  const src = fs.readFileSync(file, 'utf8');
  const re = /(const cn = \{\n\s*PH: )\[[^\n]*\](,\n)/;
  if (!re.test(src)) throw new Error('the `cn` PH table was not found in opening_hours.js');
  const table = holidays.map((d) => {
    const [y, mo, da] = d.split('-').map(Number);
    return { name: d, fixed_date: [mo, da], year: y };
  });
  const patched = src.replace(re, `$1${JSON.stringify(table)}$2`);
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  mod._compile(patched, file);
  return mod.exports;
}

// -- dates ---------------------------------------------------------------------

function ymd(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function daysOfYear() {
  const out = [];
  for (let d = new Date(YEAR, 0, 1); d.getFullYear() === YEAR; d = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1)) {
    out.push(d);
  }
  return out;
}

// -- the make-up day rewrite ----------------------------------------------------

const WD = '(?:Mo|Tu|We|Th|Fr|Sa|Su)';
const WD_LIST = new RegExp(`\\b${WD}(?:-${WD})?(?:,${WD}(?:-${WD})?)*\\b`, 'g');

function expandList(list) {
  const set = new Set();
  for (const item of list.split(',')) {
    const [a, b] = item.split('-').map((w) => WEEKDAYS.indexOf(w));
    const end = b === undefined ? a : b;
    for (let i = a; ; i = (i + 1) % 7) {
      set.add(i);
      if (i === end) break;
    }
  }
  return set;
}

function formatSet(set) {
  // Monday-first runs, e.g. {1,2,3,4,5,6} -> "Mo-Sa", {0,6} -> "Sa,Su".
  const order = [1, 2, 3, 4, 5, 6, 0];
  const parts = [];
  let i = 0;
  while (i < 7) {
    if (!set.has(order[i])) { i++; continue; }
    let j = i;
    while (j + 1 < 7 && set.has(order[j + 1])) j++;
    parts.push(j === i ? WEEKDAYS[order[i]] : `${WEEKDAYS[order[i]]}-${WEEKDAYS[order[j]]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function checkRewritable(expr) {
  if (new RegExp(`${WD}(?:-${WD})?\\s*\\[`).test(expr) || /\bdays?\b/.test(expr)) {
    throw new Error(`the make-up rewrite does not handle nth weekdays or day offsets: ${expr}`);
  }
}

// `day` and `prev` are [realWeekday, effectiveWeekday] pairs.
function rewriteFor(expr, day, prev) {
  if (day[0] === day[1] && prev[0] === prev[1]) return expr;
  const pinned = new Set([day[0], prev[0]]);
  return expr.replace(WD_LIST, (list) => {
    const set = expandList(list);
    const out = new Set([...set].filter((w) => !pinned.has(w)));
    for (const [real, eff] of [day, prev]) {
      if (set.has(eff)) out.add(real);
    }
    if (out.size === 0) {
      out.add([0, 1, 2, 3, 4, 5, 6].find((w) => !pinned.has(w)));
    }
    return formatSet(out);
  });
}

// -- main -------------------------------------------------------------------------

function build() {
  const cal = readCalendar();
  const OpeningHours = loadOpeningHours(cal.holidays);
  // Nominatim gives coordinates as strings; opening_hours.js ignores numbers.
  const nominatim = { lat: String(STATION.lat), lon: String(STATION.lon), address: { country_code: 'cn' } };
  const make = (expr) => new OpeningHours(expr, nominatim, { mode: 0, tag_key: 'opening_hours' });

  const days = daysOfYear();
  const eff = (d) => {
    const w = cal.workdays[ymd(d)];
    return [d.getDay(), w === undefined ? d.getDay() : w];
  };

  // The position must be used: sunset on 1 Jan in Zhuhai is near 17:50.
  const sun = make('sunrise-sunset');
  if (sun.getState(new Date(YEAR, 0, 1, 18, 30))) {
    throw new Error('opening_hours.js did not use the station position for sunset');
  }

  // PH must match exactly the calendar's holidays.
  const ph = make('PH');
  const phDays = days.filter((d) => ph.getState(new Date(d.getFullYear(), d.getMonth(), d.getDate(), 12))).map(ymd);
  if (JSON.stringify(phDays) !== JSON.stringify([...cal.holidays].sort())) {
    throw new Error(`PH in opening_hours.js does not match the calendar: ${phDays.join(' ')}`);
  }

  const cases = [];
  let rewritten = 0;
  for (const expr of EXPRESSIONS) {
    checkRewritable(expr);
    const cache = new Map();
    const get = (e) => {
      if (!cache.has(e)) cache.set(e, make(e));
      return cache.get(e);
    };
    get(expr); // the unrewritten expression must parse
    const dayStates = [];
    for (const d of days) {
      const prevDate = new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1);
      const e = rewriteFor(expr, eff(d), eff(prevDate));
      if (e !== expr) rewritten++;
      const oh = get(e);
      let s = '';
      for (const t of TIMES) {
        const [h, mi] = t.split(':').map(Number);
        const at = new Date(d.getFullYear(), d.getMonth(), d.getDate(), h, mi);
        s += oh.getUnknown(at) ? 'u' : (oh.getState(at) ? '1' : '0');
      }
      dayStates.push(s);
    }
    cases.push({ expression: expr, days: dayStates });
  }

  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('opening_hours')), '..', 'package.json'), 'utf8'));
  return {
    generator: 'scripts/reference/hours.js',
    reference: `opening_hours.js ${pkg.version}`,
    timezone: 'Asia/Shanghai',
    year: YEAR,
    times: TIMES,
    station: STATION,
    holidays: cal.holidays,
    workdays: Object.fromEntries(Object.entries(cal.workdays).map(([d, w]) => [d, WEEKDAYS[w]])),
    legend: 'days[i] is 1 Jan + i days; one character per time: 1 open, 0 closed, u unknown',
    rewritten_day_evaluations: rewritten,
    cases,
  };
}

function serialize(fixture) {
  // One line per expression's day list keeps diffs readable.
  const { cases, ...head } = fixture;
  const lines = JSON.stringify(head, null, 2).split('\n');
  lines.pop(); // closing brace
  lines[lines.length - 1] += ',';
  lines.push('  "cases": [');
  cases.forEach((c, i) => {
    lines.push('    {');
    lines.push(`      "expression": ${JSON.stringify(c.expression)},`);
    lines.push('      "days": [');
    for (let j = 0; j < c.days.length; j += 7) {
      const week = c.days.slice(j, j + 7).map((s) => JSON.stringify(s)).join(', ');
      lines.push(`        ${week}${j + 7 < c.days.length ? ',' : ''}`);
    }
    lines.push('      ]');
    lines.push(`    }${i + 1 < cases.length ? ',' : ''}`);
  });
  lines.push('  ]');
  lines.push('}');
  return lines.join('\n') + '\n';
}

const text = serialize(build());
if (process.argv.includes('--check')) {
  const old = fs.existsSync(FIXTURE) ? fs.readFileSync(FIXTURE, 'utf8') : '';
  if (old !== text) {
    console.error(`hours.js: ${path.relative(ROOT, FIXTURE)} is not current; run node scripts/reference/hours.js`);
    process.exit(1);
  }
  console.log(`hours.js: ${path.relative(ROOT, FIXTURE)} is current`);
} else {
  fs.mkdirSync(path.dirname(FIXTURE), { recursive: true });
  fs.writeFileSync(FIXTURE, text);
  const n = JSON.parse(text);
  const count = n.cases.length * n.cases[0].days.length * n.times.length;
  console.log(`hours.js: wrote ${path.relative(ROOT, FIXTURE)} (${n.cases.length} expressions x ${n.cases[0].days.length} days x ${n.times.length} times = ${count} cases)`);
}
