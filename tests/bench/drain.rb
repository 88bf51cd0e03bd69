# drain.rb -- the drain benchmark's runner (see drain.sh).
#
# Scenario "drain": JOBS no-op jobs pushed with Ruby's push_bulk, drained by each
# worker; timed from the moment the queue starts shrinking until it is empty and every
# job is acknowledged. Scenario "slow": 1,500 jobs that sleep 20 ms at -c 25, where the
# threads are the limit: Sidekiq Web's queue size and latency are sampled for each
# worker, and for scotty the jobs it has fetched that wait for a thread (they are no
# longer in the queue Web shows). Each scotty run samples its control socket's
# `waiting_for_thread` every 10 ms. Runs alternate ROUNDS times; medians are printed.
#
# Usage: ruby drain.rb JOBS ROUNDS LABEL=SCOTTY_BINARY...
require 'sidekiq'
require 'sidekiq/api'
require 'socket'
require 'json'
require_relative '../lib/servers'

jobs = Integer(ARGV[0])
rounds = Integer(ARGV[1])
scottys = ARGV[2..].map { |a| a.split('=', 2) }
server = Harness::RedisServer.new
dir = Dir.mktmpdir('scotty-bench')
worker_rb = File.join(dir, 'diag.rb')
File.write(worker_rb, <<~RUBY)
  require 'sidekiq'
  module Scotty; module Diag
    class Noop
      include Sidekiq::Worker
      def perform(*) = nil
    end
    class Sleep
      include Sidekiq::Worker
      def perform(ms) = sleep(ms / 1000.0)
    end
  end; end
RUBY
Sidekiq.configure_client { |c| c.redis = { url: server.url } }

def peak_rss_mb(pid)
  File.read("/proc/#{pid}/status")[/VmHWM:\s+(\d+)/, 1].to_i / 1024.0
end

def median(xs)
  s = xs.compact.sort
  return nil if s.empty?

  s.size.odd? ? s[s.size / 2] : (s[s.size / 2 - 1] + s[s.size / 2]) / 2.0
end

# Samples a scotty's control socket until stopped; returns the waiting_for_thread values.
def sample_held(sock_path, stop)
  Thread.new do
    values = []
    Harness.wait_for(20, 'the control socket') { File.socket?(sock_path) }
    UNIXSocket.open(sock_path) do |s|
      until stop[0]
        s.write("stats\n")
        v = JSON.parse(s.gets)['waiting_for_thread']
        values << v if v
        sleep 0.01
      end
    end
    values
  rescue SystemCallError, IOError
    values
  end
end

def run(redis, url, name, cmd, klass, args_list, sock)
  redis.flushdb
  args_list.each_slice(10_000) { |slice| Sidekiq::Client.push_bulk('class' => klass, 'args' => slice) }
  total = args_list.size
  log = File.join(Dir.tmpdir, "bench-#{name.tr(' /', '__')}.log")
  pid = Process.spawn({ 'REDIS_URL' => url }, *cmd, out: log, err: log)
  stop = [false]
  held = sock ? sample_held(sock, stop) : nil
  started = nil
  sizes = []
  latencies = []
  q = Sidekiq::Queue.new('default')
  loop do
    left = redis.llen('queue:default')
    started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC) if left < total
    if started && left.positive?
      sizes << q.size
      latencies << q.latency
    end
    break if left.zero? && redis.keys('queue:scotty|*').all? { |k| redis.llen(k).zero? }

    sleep 0.005
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  rss = peak_rss_mb(pid)
  stop[0] = true
  values = held&.value
  Process.kill('TERM', pid)
  Process.wait(pid)
  { rate: total / elapsed, rss: rss, held: values && !values.empty? ? values.sum.to_f / values.size : nil,
    held_max: values&.max, size: sizes.empty? ? 0 : sizes.sum.to_f / sizes.size,
    latency: latencies.empty? ? 0 : latencies.sum / latencies.size }
end

begin
  redis = server.client
  ruby = ->(c) { ['sidekiq', '-r', worker_rb, '-c', c.to_s, '-q', 'default'] }
  workers = [['ruby sidekiq -c 25', ruby.call(25), nil]]
  scottys.each do |label, bin|
    sock = File.join(dir, "#{label}.sock")
    workers << ["#{label} -c 25", [bin, '-c', '25', '-q', 'default', '--control', sock], sock]
  end
  noop_args = (0...jobs).map { |i| [i] }
  sleep_args = Array.new(1500) { [20] }
  results = Hash.new { |h, k| h[k] = [] }
  rounds.times do
    workers.each do |name, cmd, sock|
      results[[name, 'drain']] << run(redis, server.url, name, cmd, 'Scotty::Diag::Noop', noop_args, sock)
      results[[name, 'slow']] << run(redis, server.url, name, cmd, 'Scotty::Diag::Sleep', sleep_args, sock)
    end
  end
  fmt = ->(v, f) { v.nil? ? 'n/a' : format(f, v) }
  %w[drain slow].each do |scenario|
    puts "\n#{scenario == 'drain' ? "drain: #{jobs} no-op jobs" : 'slow: 1,500 jobs of 20 ms'} (medians of #{rounds} rounds)"
    puts format('%-26s %10s %8s %9s %13s %12s %11s %11s', 'worker', 'jobs/s', 'x ruby', 'RSS MB',
                'held avg/max', 'limit', 'Web size', 'latency s')
    base = median(results[[workers[0][0], scenario]].map { |r| r[:rate] })
    workers.each do |name, _, sock|
      rs = results[[name, scenario]]
      rate = median(rs.map { |r| r[:rate] })
      held = median(rs.map { |r| r[:held] })
      held_max = rs.map { |r| r[:held_max] }.compact.max
      puts format('%-26s %10.0f %8.2f %9.1f %13s %12s %11.1f %11.3f', name, rate, rate / base,
                  median(rs.map { |r| r[:rss] }), sock ? "#{fmt.call(held, '%.2f')}/#{held_max || 'n/a'}" : '0 (BRPOP)',
                  sock ? 'max(2,c/4)=6' : '', median(rs.map { |r| r[:size] }), median(rs.map { |r| r[:latency] }))
    end
  end
ensure
  server.destroy
  FileUtils.rm_rf(dir)
end
