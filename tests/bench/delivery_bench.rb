# delivery_bench.rb -- the measuring half of tests/bench/delivery.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL, and builds both binaries).
# Args: after-binary, before-binary (or ""), N, rounds.
#  1. throughput: N signed deliveries to one loopback inbox that verifies every
#     signature, before and after alternately, `rounds` times; medians, CPU per
#     delivery, TCP connections, and the ratio to `openssl speed -multi 2 rsa2048`
#     measured in each round; also the rate from the first delivery's arrival to the
#     last's (the wall rate includes the process start, about 0.1-0.3 s here, most of it
#     the media fork server's READY), and Redis's commands and time per delivery;
#  2. latency: inboxes on 40 hosts answer after 200 ms, 2 of them (5%) never answer;
#     the after binary at each -c of BENCH_LAT_C, and at the best one the same jobs
#     without dead hosts, for what the dead ones cost the healthy ones; next to Ruby
#     Sidekiq's bound at -c 25 (25 threads / 0.2 s);
#  3. 1,000 deliveries to a dead inbox queued ahead of 1,000 to a healthy one.
require 'json'
require 'open3'
require 'net/http'
require 'sidekiq'
require_relative '../lib/servers'
require_relative '../lib/pg'

after_bin, before_bin, n, rounds = ARGV[0], ARGV[1], Integer(ARGV[2]), Integer(ARGV[3])
binaries = { 'after' => after_bin }
binaries = { 'before' => before_bin }.merge(binaries) unless before_bin.to_s.empty?
LATENCY_MS = 200
HOSTS = (1..40).map { |i| "127.0.0.#{i}" }
DEAD = HOSTS.last(2)
tmp = Dir.mktmpdir('scotty-delivery-bench')
pids = []
redis_server = nil
at_exit do
  pids.each { |pid| Harness.stop_process(pid) }
  redis_server&.destroy
  FileUtils.rm_rf(tmp)
end

def now
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def median(list)
  s = list.sort
  s.size.odd? ? s[s.size / 2] : (s[s.size / 2 - 1] + s[s.size / 2]) / 2.0
end

def signing_ceiling
  speed, = Open3.capture2('openssl', 'speed', '-seconds', '3', '-multi', '2', 'rsa2048', err: File::NULL)
  line = speed.lines.find { |l| l =~ /^rsa\s+2048 bits/ } or abort "cannot read openssl speed output:\n#{speed}"
  line.split[5].to_f
end

# An account with a key, the inbox on every host, Redis.
pem, = Open3.capture2('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', err: File::NULL)
pub, = Open3.capture2('openssl', 'pkey', '-pubout', stdin_data: pem)
Harness::PG.psql("INSERT INTO accounts (id, username, domain, private_key, public_key, created_at, updated_at) " \
     "VALUES (1, 'alice', NULL, '#{pem}', '#{pub}', now(), now())")
scheme = Harness::PG.psql("SELECT to_jsonb(a)->>'id_scheme' FROM accounts a WHERE id = 1").strip
actor = scheme == '1' ? 'https://bench.test/ap/users/1' : 'https://bench.test/users/alice'
File.write(File.join(tmp, 'keys.json'), JSON.generate("#{actor}#main-key" => pub))
port_file = File.join(tmp, 'port')
inbox_pid = Process.spawn('node', File.join(__dir__, '../delivery/inbox.js'), '--port-file', port_file,
                          '--keys', File.join(tmp, 'keys.json'), '--addresses', HOSTS.join(','), '--count-only')
pids << inbox_pid
Harness.wait_for(10, 'the inbox') { File.exist?(port_file) }
PORT = File.read(port_file).to_i
redis_server = Harness::RedisServer.new
redis = redis_server.client
Sidekiq.configure_client { |c| c.redis = { url: redis_server.url } }
Sidekiq.logger.level = Logger::WARN
redis_pid = Integer(redis.info['process_id'])

# mark: the inbox starts timing first_at anew (the next delivery's arrival)
def stats(mark: false)
  JSON.parse(Net::HTTP.get(URI("http://127.0.0.1:#{PORT}/_stats#{mark ? '?mark' : ''}")))
rescue Net::OpenTimeout, Net::ReadTimeout, Errno::ECONNRESET
  retry
end

body = JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Create',
                     'id' => "#{actor}/statuses/1/activity", 'actor' => actor,
                     'object' => { 'type' => 'Note', 'content' => 'x' * 1500 })
# inboxes: a list the jobs cycle through
push = lambda do |inboxes, count|
  count.times.each_slice(1000) do |slice|
    Sidekiq::Client.push_bulk('class' => 'ActivityPub::DeliveryWorker', 'queue' => 'push', 'retry' => 16,
                              'dead' => false, 'args' => slice.map { |i| [body, 1, inboxes[i % inboxes.size], {}] })
  end
end
env = Harness::PG.pg_env.merge('REDIS_URL' => redis_server.url, 'LOCAL_DOMAIN' => 'bench.test',
                               'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8')
scotty_log = File.join(tmp, 'scotty.log')
# BENCH_SCOTTY_<VAR>=v in the environment sets VAR=v for scotty (e.g. GLIBC_TUNABLES)
scotty_env = env.merge(ENV.select { |k, _| k.start_with?('BENCH_SCOTTY_') }
                          .transform_keys { |k| k.delete_prefix('BENCH_SCOTTY_') })
start_scotty = lambda do |bin, concurrency|
  pid = Process.spawn(scotty_env, bin, '-c', concurrency.to_s, '-q', 'push', '--no-job-log',
                      *ENV.fetch('BENCH_ARGS', '').split, err: scotty_log)
  pids << pid
  pid
end
stop_scotty = lambda do |pid|
  Process.kill('KILL', pid)
  Process.wait(pid)
  pids.delete(pid)
  redis.flushdb
end

# CPU seconds used so far by each process.
def cpu_seconds(pids)
  tick = Integer(`getconf CLK_TCK`)
  pids.transform_values do |pid|
    File.read("/proc/#{pid}/stat").sub(/.*\) /, '').split.values_at(11, 12).sum(&:to_i).fdiv(tick)
  end
end

def peak_rss_mb(pid)
  File.read("/proc/#{pid}/status")[/^VmHWM:\s+(\d+)/, 1].to_i / 1024.0
end

def wait_or_abort(seconds, what, log)
  Harness.wait_for(seconds, what) { yield }
rescue Timeout::Error
  abort "FAIL: timed out waiting for #{what}; inbox: #{stats.reject { |k, _| k == 'by_path' }}; scotty's log:\n" \
        "#{File.read(log).then { |t| t[-3000..] || t }}"
end

parts = ENV.fetch('BENCH_PARTS', 'throughput latency dead').split
concurrency = ENV.fetch('BENCH_CONCURRENCY', '10')
summary = nil

# 1. Throughput.
results = Hash.new { |h, k| h[k] = [] }
ceilings = []
(parts.include?('throughput') ? rounds : 0).times do |round|
  ceilings << signing_ceiling
  binaries.each do |label, bin|
    push.call(["http://127.0.0.1:#{PORT}/inbox"], n)
    base = stats(mark: true)
    t0 = now
    pid = start_scotty.call(bin, concurrency)
    watched = { 'scotty' => pid, 'inbox' => inbox_pid, 'redis' => redis_pid }
    cpu0 = cpu_seconds(watched)
    cmd0 = redis.info('commandstats')
    perf = ENV['BENCH_PERF'] && label == 'after' && round.zero? &&
           Process.spawn('perf', 'record', '-F', '999', '-g', '-p', pid.to_s, '-o', ENV['BENCH_PERF'], err: File::NULL)
    wait_or_abort(Integer(ENV.fetch('BENCH_WAIT', '300')), "#{n} deliveries (#{label})", scotty_log) do
      stats['received'] - base['received'] >= n && redis.llen('queue:push').zero?
    end
    elapsed = now - t0
    if perf
      Process.kill('INT', perf)
      Process.wait(perf)
    end
    cpu = cpu_seconds(watched).to_h { |k, v| [k, v - cpu0[k]] }
    cmd1 = redis.info('commandstats')
    redis_calls = cmd1.map do |k, v|
      was = cmd0.fetch(k, {})
      [k, (v['calls'].to_i - was['calls'].to_i).fdiv(n), (v['usec'].to_i - was['usec'].to_i).fdiv(n)]
    end
    st = stats
    bad = st['sig_bad'] - base['sig_bad']
    abort "FAIL: #{bad} deliveries with an invalid signature (#{label})" unless bad.zero?
    stop_scotty.call(pid)
    # steady: from the first delivery's arrival to the last's, without the process start
    results[label] << { rate: n / elapsed, steady: (n - 1) / ((st['last_at'] - st['first_at']) / 1000.0),
                        cpu_us: cpu.transform_values { |v| v * 1e6 / n },
                        connections: st['connections'] - base['connections'] }
    r = results[label].last
    puts format('round %d %-6s %6.0f deliveries/s (%.0f/s from the first to the last), scotty %4.0f us CPU ' \
                'per delivery (inbox %.0f, redis %.0f), %d TCP connections; signing ceiling now %.0f signs/s',
                round + 1, label, r[:rate], r[:steady], *r[:cpu_us].values_at('scotty', 'inbox', 'redis'),
                r[:connections], ceilings.last)
    # script calls count the commands they run too; the time of each includes its own
    puts '  Redis commands per delivery (time in the command): ' +
         redis_calls.select { |_, c, _| c >= 0.01 }.sort_by { |_, _, u| -u }
                    .map { |k, c, u| format('%s %.2f (%.1f us)', k, c, u) }.join(', ')
  end
end
if parts.include?('throughput')
ceiling = median(ceilings)
puts
puts format('Throughput at -c %s, %d signed deliveries, medians of %d rounds; signing ceiling ' \
            '(openssl speed -multi 2 rsa2048) %.0f signs/s', concurrency, n, rounds, ceiling)
summary = results.to_h do |label, list|
  [label, { rate: median(list.map { |r| r[:rate] }), steady: median(list.map { |r| r[:steady] }),
            cpu: median(list.map { |r| r[:cpu_us]['scotty'] }) }]
end
# The ceiling is what 2 cores sign; the inbox verifying and Redis share those cores
# here, so the rate alone cannot reach it. The second ratio is scotty's own: the
# deliveries 2 cores would carry at scotty's CPU per delivery, over the same ceiling.
summary.each do |label, s|
  puts format('  %-6s %6.0f deliveries/s  %4.0f us CPU/delivery  %.2f of the signing ceiling ' \
              '(%.2f per scotty CPU: 2 cores / %.0f us); from the first delivery to the last %.0f/s, %.2f',
              label, s[:rate], s[:cpu], s[:rate] / ceiling, 2e6 / s[:cpu] / ceiling, s[:cpu],
              s[:steady], s[:steady] / ceiling)
end
if summary['before']
  puts format('  after/before: %.2fx deliveries/s, %.2fx CPU per delivery',
              summary['after'][:rate] / summary['before'][:rate], summary['after'][:cpu] / summary['before'][:cpu])
end
end

# 2. Latency: 200 ms inboxes on 40 hosts, 5% of them dead.
m = Integer(ENV.fetch('BENCH_LAT_N', '15000'))
slow = HOSTS.map { |h| "http://#{h}:#{PORT}/slow/#{LATENCY_MS}/inbox" }
with_dead = HOSTS.map { |h| DEAD.include?(h) ? "http://#{h}:#{PORT}/hang/inbox" : "http://#{h}:#{PORT}/slow/#{LATENCY_MS}/inbox" }
latency_run = lambda do |inboxes, c|
  push.call(inboxes, m)
  healthy = inboxes.count { |u| u.include?('/slow/') }.fdiv(inboxes.size) * m
  base = stats
  t0 = now
  pid = start_scotty.call(after_bin, c)
  path = "/slow/#{LATENCY_MS}/inbox"
  wait_or_abort(Integer(ENV.fetch('BENCH_WAIT', '300')), "#{healthy.round} healthy deliveries at -c #{c}", scotty_log) do
    stats['by_path'][path].to_i - base['by_path'][path].to_i >= healthy.round && stats['answered'] - base['answered'] >= healthy.round
  end
  elapsed = now - t0
  rss = peak_rss_mb(pid)
  st = stats
  dead = st['by_path']['/hang/inbox'].to_i - base['by_path']['/hang/inbox'].to_i
  stop_scotty.call(pid)
  { rate: healthy / elapsed, rss: rss, dead_requests: dead, healthy: healthy.round,
    connections: st['connections'] - base['connections'] }
end
ruby_bound = 25 / (LATENCY_MS / 1000.0)
if parts.include?('latency')
puts
puts format('Latency: %d deliveries over %d hosts answering after %d ms, %d of them (%d%%) never answer; ' \
            'Ruby Sidekiq at -c 25 is bound by 25 / %.1f s = %.0f deliveries/s', m, HOSTS.size, LATENCY_MS,
            DEAD.size, 100 * DEAD.size / HOSTS.size, LATENCY_MS / 1000.0, ruby_bound)
lat = ENV.fetch('BENCH_LAT_C', '250 350 1000').split.map(&:to_i).to_h do |c|
  r = latency_run.call(with_dead, c)
  puts format('  -c %4d: %5.0f healthy deliveries/s (%.1fx Ruby\'s bound), peak RSS %.1f MB, %d TCP connections, ' \
              '%d requests reached the dead hosts', c, r[:rate], r[:rate] / ruby_bound, r[:rss], r[:connections],
              r[:dead_requests])
  [c, r]
end
best_c, best = lat.max_by { |_, r| r[:rate] }
clean = latency_run.call(slow, best_c)
puts format('  -c %4d without dead hosts: %5.0f deliveries/s, peak RSS %.1f MB; with them the healthy ones ran at ' \
            '%.2f of that', best_c, clean[:rate], clean[:rss], best[:rate] / clean[:rate])
end

# 3. 1,000 to an inbox that never answers, queued ahead of 1,000 to a healthy one.
exit unless parts.include?('dead')
pid = start_scotty.call(after_bin, concurrency)
base = stats
push.call(["http://127.0.0.2:#{PORT}/hang/inbox"], 1000)
push.call(["http://127.0.0.1:#{PORT}/inbox"], 1000)
t0 = now
wait_or_abort(600, 'the healthy deliveries', scotty_log) { stats['by_path']['/inbox'].to_i - base['by_path']['/inbox'].to_i >= 1000 }
healthy = now - t0
hung = stats['by_path']['/hang/inbox'].to_i - base['by_path']['/hang/inbox'].to_i
wait_or_abort(60, 'the queue to drain', scotty_log) { redis.llen('queue:push').zero? }
puts
puts format('1,000 healthy deliveries queued behind 1,000 to a dead inbox at -c %s: done in %.2f s ' \
            '(%.2f s for 1,000 alone at the rate above); %d requests reached the dead inbox, ' \
            '%d jobs wait in the retry set', concurrency, healthy, summary ? 1000 / summary['after'][:rate] : 0, hung,
            redis.zcard('retry'))
stop_scotty.call(pid)
