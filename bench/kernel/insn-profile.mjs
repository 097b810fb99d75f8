// Where a window's guest instructions went: reads the insn-count plugin's
// profile (profile=PROF: per window, the instructions of every translation
// block by its guest start address, bench/kernel/insn-count.c), resolves
// kernel addresses with the guest's /proc/kallsyms (ipn.ko's and other
// modules' symbols included) and user addresses with a /proc/PID/maps of
// the guest process (each binary's own symbols through nm, when it has
// them), and prints the top functions with their instructions per unit.
//
// Two ways to pick the windows:
//   --json kernel.json --case ipn:16 [--case relay:16 ...]
//       the burst windows of a bench/kernel/fanout case (every repeat),
//       per delivery (deliveries x repeats);
//   --window SEQ[,SEQ...] [--per N]
//       any marked windows, per N (default 1).
// Options: --prof PROF (required), --kallsyms FILE, --maps FILE, --top K
// (25), --by function|place|group (place: kernel / ipn.ko / user binary;
// group: kinds of kernel work, told apart by function name, see GROUPS).
// Without --kallsyms, kernel addresses are shown raw; without --maps, every
// user address is "user".
//
// Usage: node bench/kernel/insn-profile.mjs --prof PROF --kallsyms KSYMS
//          [--maps MAPS] (--json J --case MODE:N... | --window SEQ... [--per N])
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

const usage = () => {
  console.error('usage: insn-profile.mjs --prof PROF [--kallsyms KSYMS] [--maps MAPS] [--top K] [--by function|place]\n' +
    '         (--json kernel.json --case MODE:N ... | --window SEQ[,SEQ...] [--per N])');
  process.exit(2);
};
const opts = { case: [], window: [], top: 25, per: 1, by: 'function' };

/**
 * --by group: kinds of work, by function name (first match wins; a rough
 * cut, for telling where a path's instructions go, not an exact split).
 */
const GROUPS = [
  ['spin-waiting on a contended spinlock', /native_queued_spin_lock_slowpath/],
  ['scheduler: wake-ups, switches, load tracking, psi, clocks',
    /sched|psi_|load_avg|enqueue_|dequeue_|switch|ttwu|wake_up|try_to_wake|select_task|pick_next|update_curr|vruntime|_entity|^rb_|finish_task|check_preempt|cpuacct|update_rq_clock|record_times|hpet|ktime|clock|rcu_note|idle|update_cfs|clear_buddies|check_spread|fpregs|fpu|cr3|mm_irqs|wake_function|prepare_to_wait|finish_wait|__bitmap_and|apic|ipi|call_function|tick|hrtimer|reweight|tls|gsbase/],
  ['sk_buff allocate / clone / free (zeroing included)',
    /memset|kmem_cache|slab|skb_clone|copy_skb_header|skb_release|kfree|cache_from_obj|memcg|consume_skb|alloc_skb|kmalloc|skb_free|objcg|sock_rfree|sock_wfree|skb_set_owner|ipn_skb_destruct|clear_page|build_skb/],
  ['copies to and from user memory, usercopy checks',
    /copy_user|copy_to_iter|copy_from_iter|check_object_size|check_stack_object|check_heap_object|virt_addr_valid|datagram_iter|simple_copy|skb_copy_datagram|put_user|get_user|_copy_from_user|_copy_to_user/],
  ['syscall plumbing: msghdr, iovec, fd lookup, LSM hooks, entry and exit',
    /sys_recv|sys_send|recvmmsg|msghdr|iovec|fget|sockfd|security_|aa_|apparmor|syscall|SYSCALL|exit_to_user|rseq|sock_recvmsg|sock_sendmsg|x64_sys|sysret|blkcg|mem_cgroup_handle|cond_resched|xfd_validate|sk_filter|bpf/],
  ["AF_UNIX's own code", /unix|scm_|maybe_add_creds/],
];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const key = args[i]?.replace(/^--/, '');
  const val = args[i + 1];
  if (!key || val === undefined || !(key in opts || ['prof', 'kallsyms', 'maps', 'json'].includes(key))) usage();
  if (key === 'case') opts.case.push(val);
  else if (key === 'window') opts.window.push(...val.split(',').map(Number));
  else opts[key] = val;
}
if (!opts.prof || (!opts.case.length && !opts.window.length) || (opts.case.length && !opts.json)) usage();
if (!['function', 'place', 'group'].includes(opts.by)) usage();

/** The profile: window number -> Map(address as BigInt -> instructions); lost per window. */
function readProfile(path, wanted) {
  const windows = new Map();
  let cur = null;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    let m;
    if ((m = /^window (\d+)$/.exec(line))) {
      cur = wanted.has(Number(m[1])) ? { blocks: new Map(), lost: 0 } : null;
      if (cur) windows.set(Number(m[1]), cur);
    } else if ((m = /^end \d+ lost (\d+)$/.exec(line))) {
      if (cur) cur.lost = Number(m[1]);
      cur = null;
    } else if (cur && (m = /^([0-9a-f]+) (\d+)$/.exec(line))) {
      const addr = BigInt(`0x${m[1]}`);
      cur.blocks.set(addr, (cur.blocks.get(addr) ?? 0) + Number(m[2]));
    }
  }
  for (const w of wanted) if (!windows.has(w)) throw new Error(`${path}: no profile for window ${w}`);
  return windows;
}

/** A sorted symbol table: [{ addr, name, place }], found by the greatest addr <= the address. */
function lookup(table, addr) {
  let lo = 0;
  let hi = table.length - 1;
  if (hi < 0 || addr < table[0].addr) return null;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (table[mid].addr <= addr) lo = mid;
    else hi = mid - 1;
  }
  return table[lo];
}

/** Text symbols of /proc/kallsyms; module symbols are placed in "name.ko". */
function readKallsyms(path) {
  const table = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([tTwW]) (\S+)(?:\s+\[(\S+)\])?/.exec(line);
    if (!m || /^0+$/.test(m[1])) continue;
    table.push({ addr: BigInt(`0x${m[1]}`), name: m[3], place: m[4] ? `${m[4]}.ko` : 'kernel' });
  }
  if (!table.length) throw new Error(`${path}: no symbols with addresses (dumped as root with kptr_restrict 0?)`);
  return table.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

/**
 * The file mappings of a /proc/PID/maps, each binary's symbols (nm, then
 * nm -D) moved to where it is loaded: the lowest mapping of that file.
 */
function readMaps(path) {
  const maps = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (m) maps.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), off: BigInt(`0x${m[3]}`), file: m[4] || '[anon]' });
  }
  const symbols = new Map();
  for (const file of new Set(maps.map((x) => x.file))) {
    const base = maps.filter((x) => x.file === file).reduce((a, x) => (x.start - x.off < a ? x.start - x.off : a), 2n ** 64n);
    const table = [];
    if (file.startsWith('/') && existsSync(file)) {
      for (const flags of [['--defined-only'], ['-D', '--defined-only']]) {
        let out = '';
        try {
          out = execFileSync('nm', [...flags, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
        } catch {
          continue;
        }
        for (const l of out.split('\n')) {
          const s = /^([0-9a-f]+) [tTwWi] (\S+)/.exec(l);
          if (s) table.push({ addr: base + BigInt(`0x${s[1]}`), name: s[2].replace(/@.*/, ''), place: basename(file) });
        }
        if (table.length) break;
      }
    }
    symbols.set(file, table.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0)));
  }
  return { maps, symbols };
}

const kallsyms = opts.kallsyms ? readKallsyms(opts.kallsyms) : null;
const user = opts.maps ? readMaps(opts.maps) : null;
const KERNEL = 0xffff800000000000n;

/** The function and place an address belongs to. */
function resolve(addr) {
  if (addr >= KERNEL) {
    const s = kallsyms && lookup(kallsyms, addr);
    return s ? { name: s.name, place: s.place } : { name: `0x${addr.toString(16)}`, place: 'kernel' };
  }
  const map = user?.maps.find((x) => addr >= x.start && addr < x.end);
  if (!map) return { name: 'user', place: 'user' };
  const place = map.file.startsWith('/') ? basename(map.file) : map.file;
  const s = lookup(user.symbols.get(map.file), addr);
  return { name: s ? s.name : `(${place})`, place: `user ${place}` };
}

/** The --by group name of a resolved address. */
function groupOf(r) {
  if (r.place === 'ipn.ko') return "ipn.ko's own code";
  if (r.place.startsWith('user')) return 'user space';
  return GROUPS.find(([, re]) => re.test(r.name))?.[0] ?? 'the rest (receive queue, locks, RCU, ...)';
}

/** Instructions of the windows by function (or place), summed, with the total and the lost count. */
function profile(windows, by) {
  const sums = new Map();
  const cache = new Map();
  let total = 0;
  let lost = 0;
  for (const w of windows.values()) {
    lost += w.lost;
    for (const [addr, n] of w.blocks) {
      let r = cache.get(addr);
      if (!r) cache.set(addr, (r = resolve(addr)));
      const key = by === 'place' ? r.place : by === 'group' ? groupOf(r) : `${r.name}\t${r.place}`;
      sums.set(key, (sums.get(key) ?? 0) + n);
      total += n;
    }
  }
  return { sums, total, lost };
}

function print(title, windows, per) {
  const { sums, total, lost } = profile(windows, opts.by);
  const byPlace = profile(windows, 'place').sums;
  const fmt = (n) => Math.round(n / per).toLocaleString('en-US');
  console.log(`\n${title}: ${fmt(total)} instructions per unit (${windows.size} window(s), ${per.toLocaleString('en-US')} units${lost ? `, ${fmt(lost)} lost per unit: table full` : ''})`);
  console.log(`  by place: ${[...byPlace].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${fmt(n)}`).join(', ')}`);
  const rows = [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top));
  for (const [key, n] of rows) {
    const [name, place = ''] = key.split('\t');
    console.log(`  ${fmt(n).padStart(8)}  ${((n * 100) / total).toFixed(1).padStart(5)}%  ${name}${place && place !== 'kernel' ? `  [${place}]` : ''}`);
  }
}

if (opts.case.length) {
  const data = JSON.parse(readFileSync(opts.json, 'utf8'));
  const cases = opts.case.map((c) => {
    const [mode, n] = c.split(':');
    const r = data.results.find((x) => x.mode === mode && x.receivers === Number(n));
    if (!r) throw new Error(`${opts.json}: no case ${c}`);
    return { c, r };
  });
  const all = readProfile(opts.prof, new Set(cases.flatMap(({ r }) => r.insn_windows)));
  for (const { c, r } of cases) {
    const mine = new Map(r.insn_windows.map((w) => [w, all.get(w)]));
    print(`${c} (${r.mode} to ${r.receivers} receivers), per delivery`, mine, r.deliveries * r.insn_windows.length);
  }
} else {
  print(`window(s) ${opts.window.join(',')}, per ${opts.per}`, readProfile(opts.prof, new Set(opts.window)), Number(opts.per));
}
