# delivery_bench.rb -- the measuring half of tests/bench/delivery.sh (which provides
# PostgreSQL with Mastodon's schema in DB_* and PG_PSQL). Args: scotty binary, N.
require 'json'
require 'open3'
require 'net/http'
require 'sidekiq'
require_relative '../lib/servers'
require_relative '../lib/pg'

scotty_bin, n = ARGV[0], Integer(ARGV[1])
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

# 1. The signing ceiling, measured now on this machine.
speed, = Open3.capture2('openssl', 'speed', '-seconds', '5', '-multi', '2', 'rsa2048')
line = speed.lines.find { |l| l =~ /^rsa\s+2048 bits/ } or abort "cannot read openssl speed output:\n#{speed}"
ceiling = line.split[5].to_f
puts format('openssl speed -multi 2 rsa2048: %.0f signs/s', ceiling)

# 2. An account with a key, the inbox, Redis.
pem, = Open3.capture2('openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048')
pub, = Open3.capture2('openssl', 'pkey', '-pubout', stdin_data: pem)
Harness::PG.psql("INSERT INTO accounts (id, username, domain, private_key, public_key, created_at, updated_at) " \
     "VALUES (1, 'alice', NULL, '#{pem}', '#{pub}', now(), now())")
scheme = Harness::PG.psql("SELECT to_jsonb(a)->>'id_scheme' FROM accounts a WHERE id = 1").strip
actor = scheme == '1' ? 'https://bench.test/ap/users/1' : 'https://bench.test/users/alice'
File.write(File.join(tmp, 'keys.json'), JSON.generate("#{actor}#main-key" => pub))
port_file = File.join(tmp, 'port')
pids << Process.spawn('node', File.join(__dir__, '../delivery/inbox.js'), '--port-file', port_file,
                      '--keys', File.join(tmp, 'keys.json'), '--addresses', '127.0.0.1,127.0.0.2', '--count-only')
Harness.wait_for(10, 'the inbox') { File.exist?(port_file) }
port = File.read(port_file).to_i
redis_server = Harness::RedisServer.new
redis = redis_server.client
Sidekiq.configure_client { |c| c.redis = { url: redis_server.url } }
Sidekiq.logger.level = Logger::WARN

def stats(port)
  JSON.parse(Net::HTTP.get(URI("http://127.0.0.1:#{port}/_stats")))
end

body = JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Create',
                     'id' => "#{actor}/statuses/1/activity", 'actor' => actor,
                     'object' => { 'type' => 'Note', 'content' => 'x' * 1500 })
push = lambda do |inbox, count|
  count.times.each_slice(1000) do |slice|
    Sidekiq::Client.push_bulk('class' => 'ActivityPub::DeliveryWorker', 'queue' => 'push', 'retry' => 16,
                              'dead' => false, 'args' => slice.map { [body, 1, inbox, {}] })
  end
end
env = Harness::PG.pg_env.merge('REDIS_URL' => redis_server.url, 'LOCAL_DOMAIN' => 'bench.test',
                               'ALLOWED_PRIVATE_ADDRESSES' => '127.0.0.0/8')
start_scotty = lambda do
  pid = Process.spawn(env, scotty_bin, '-c', ENV.fetch('BENCH_CONCURRENCY', '10'), '-q', 'push', '--no-job-log', err: File.join(tmp, 'scotty.log'))
  pids << pid
  pid
end

# CPU seconds used so far by each process of the run (postgres: all its processes).
def cpu_seconds(pids)
  tick = Integer(`getconf CLK_TCK`)
  pids.transform_values do |pid|
    list = pid ? [pid] : `pgrep -u postgres`.split.map(&:to_i)
    list.sum do |p|
      File.read("/proc/#{p}/stat").sub(/.*\) /, '').split.values_at(11, 12).sum(&:to_i).fdiv(tick)
    rescue Errno::ENOENT
      0
    end
  end
end

# 3. Throughput: N deliveries queued, then one scotty drains them.
push.call("http://127.0.0.1:#{port}/inbox", n)
redis_pid = Integer(redis.info['process_id'])
t0 = now
scotty_pid = start_scotty.call
watched = { 'scotty' => scotty_pid, 'inbox (node)' => pids.first, 'redis' => redis_pid, 'postgres' => nil }
cpu0 = cpu_seconds(watched)
perf = ENV['BENCH_PERF'] && Process.spawn('perf', 'record', '-F', '999', '-g', '-p', scotty_pid.to_s, '-o', ENV['BENCH_PERF'], err: File::NULL)
scotty_log = File.join(tmp, 'scotty.log')
begin
  Harness.wait_for(ENV.fetch('BENCH_WAIT', '300').to_i, 'the deliveries') { stats(port)['received'] >= n && redis.llen('queue:push').zero? }
rescue Timeout::Error
  abort "FAIL: #{stats(port)['received']} of #{n} deliveries arrived; scotty's log:\n#{File.read(scotty_log)[-3000..]}"
end
elapsed = now - t0
if perf
  Process.kill('INT', perf)
  Process.wait(perf)
end
st = stats(port)
rate = n / elapsed
puts format('%d signed deliveries in %.2f s: %.0f deliveries/s (inbox: %d signatures valid, %d invalid, ' \
            '%d TCP connections)', n, elapsed, rate, st['sig_ok'], st['sig_bad'], st['connections'])
puts format('ratio to the signing ceiling: %.2f', rate / ceiling)
cpu1 = cpu_seconds(watched)
puts 'CPU seconds during the run (of %.1f s on 2 cores): %s' %
     [2 * elapsed, cpu1.map { |k, v| format('%s %.1f', k, v - cpu0[k]) }.join(', ')]

# 4. 1,000 to an inbox that never answers, queued ahead of 1,000 to a healthy one.
base = st['received']
push.call("http://127.0.0.2:#{port}/hang/inbox", 1000)
push.call("http://127.0.0.1:#{port}/inbox", 1000)
t0 = now
Harness.wait_for(600, 'the healthy deliveries') { stats(port)['received'] - base - (stats(port)['by_path']['/hang/inbox'] || 0) >= 1000 }
healthy = now - t0
hung = stats(port)['by_path']['/hang/inbox'] || 0
Harness.wait_for(60, 'the queue to drain') { redis.llen('queue:push').zero? }
puts format('1,000 healthy deliveries queued behind 1,000 to a dead inbox: done in %.2f s ' \
            '(%.2f s for 1,000 alone at the rate above); %d requests reached the dead inbox, ' \
            '%d jobs wait in the retry set', healthy, 1000 / rate, hung, redis.zcard('retry'))
