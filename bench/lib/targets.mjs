// The targets of issue 7, evaluated on one run's results. Each returns rows
// { target, kvsync, reference, ratio, goal, met } (met: true | false | undefined when unmeasured).
const yjsServers = ['y-websocket-server', 'hocuspocus']

export function evaluateTargets(results) {
  const find = (scenario, system, metric) => results.find((r) => r.scenario === scenario && r.system === system && r.metric === metric)
  const findAll = (scenario, predicate) => results.filter((r) => r.scenario === scenario && predicate(r))
  const rows = []
  const add = (target, kv, ref, goal, test, refLabel) => {
    const ratio = kv && ref ? kv.median / ref.median : undefined
    rows.push({ target, kvsync: kv ? `${fmt(kv.median)} ${kv.unit}` : 'n/a', reference: ref ? `${fmt(ref.median)} ${ref.unit} (${refLabel ?? ref.system})` : 'n/a', ratio, goal, met: ratio === undefined ? undefined : test(ratio) })
  }
  const absolute = (target, kv, goal, test) => rows.push({ target, kvsync: kv ? `${fmt(kv.median)} ${kv.unit}` : 'n/a', reference: '—', ratio: undefined, goal, met: kv ? test(kv.median) : undefined })
  const best = (candidates, better) => candidates.filter(Boolean).sort((a, b) => (better === 'higher' ? b.median - a.median : a.median - b.median))[0]

  // L1
  const l1 = findAll('L1', (r) => r.system === 'kvsync')[0]
  add('L1 awaited sets ≥ 1.0× idb-keyval', l1, l1 && find('L1', 'idb-keyval', l1.metric), '≥ 1.0×', (x) => x >= 1)
  // L2
  for (const kv of findAll('L2', (r) => r.system === 'kvsync')) {
    add(`L2 ${kv.what}: time ≤ 1.0× y-indexeddb`, kv, find('L2', 'y-indexeddb', kv.baseMetric), '≤ 1.0×', (x) => x <= 1)
    add(`L2 ${kv.what}: ≥ 2× faster than raw one transaction`, kv, find('L2', 'raw-indexeddb', kv.baseMetric), '≤ 0.5×', (x) => x <= 0.5)
  }
  // L3
  const l3Sizes = [...new Set(findAll('L3', () => true).map((r) => Number(/^(\d+)/.exec(r.metric)?.[1])))].sort((a, b) => b - a)
  const big = l3Sizes[0]
  if (big !== undefined) {
    absolute(`L3 ${big} keys: open → first get ≤ 100 ms`, find('L3', 'kvsync', `${big} keys: open → first get`), '≤ 100 ms', (v) => v <= 100)
    const m = `${big} keys: navigation → all keys readable`
    add(`L3 ${big} keys: all keys readable ≤ 0.7× y-indexeddb`, find('L3', 'kvsync', m), find('L3', 'y-indexeddb', m), '≤ 0.7×', (x) => x <= 0.7)
  }
  // L4
  const once = findAll('L4', (r) => r.system === 'kvsync' && r.metric.endsWith('written once'))[0]
  if (once) {
    add(`L4 ${once.metric}: ≤ 1.5× y-indexeddb bytes`, once, find('L4', 'y-indexeddb', once.metric), '≤ 1.5×', (x) => x <= 1.5)
    add(`L4 ${once.metric}: ≤ 0.3× idb-keyval bytes`, once, find('L4', 'idb-keyval', once.metric), '≤ 0.3×', (x) => x <= 0.3)
  }
  const growth = findAll('L4', (r) => r.system === 'kvsync' && r.unit === '×')[0]
  if (growth) absolute(`L4 ${growth.metric} ≤ 2`, growth, '≤ 2×', (v) => v <= 2)
  // S1
  for (const kv of findAll('S1', (r) => r.system === 'kvsync')) {
    const ref = best(yjsServers.map((s) => find('S1', s, kv.baseMetric ?? kv.metric)), kv.better)
    if (kv.metric.includes('converged updates/s')) add(`S1 ${kv.metric} ≥ 3× best Yjs server`, kv, ref, '≥ 3×', (x) => x >= 3)
    else if (kv.metric.includes('p99')) add(`S1 ${kv.metric} ≤ 0.5× best Yjs server`, kv, ref, '≤ 0.5×', (x) => x <= 0.5)
  }
  // S2: kvsync's durable acknowledgements (older runs measured a provisional server-side probe)
  for (const kv of findAll('S2', (r) => r.system === 'kvsync' && r.metric.includes('durable'))) {
    if (kv.unit === 'updates/s') absolute(`S2 ${kv.metric} ≥ 10,000/s`, kv, '≥ 10,000/s', (v) => v >= 10000)
    else if (kv.metric.includes('p99')) absolute(`S2 ${kv.metric} ≤ 25 ms`, kv, '≤ 25 ms', (v) => v <= 25)
  }
  // S3
  for (const metric of ['RSS per loaded store', 'RSS per idle connection']) {
    const kv = find('S3', 'kvsync', metric)
    const ref = best(yjsServers.map((s) => find('S3', s, metric)), 'lower')
    add(`S3 ${metric} ≤ 0.5× best anchor`, kv, ref, '≤ 0.5×', (x) => x <= 0.5)
  }
  const returned = find('S3', 'kvsync', 'memory returned after disconnect (share of the loaded growth)')
  absolute('S3 memory returns after disconnect (≥ 50% of the growth)', returned, '≥ 50%', (v) => v >= 50)
  return rows
}

export function fmt(value) {
  if (value === undefined || value === null || !Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US')
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  return value.toFixed(3)
}
