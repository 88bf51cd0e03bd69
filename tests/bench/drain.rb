# drain.rb -- the drain benchmark's runner (see drain.sh). Times each worker from the
# moment the queue starts shrinking until it is empty and every job is acknowledged.
require 'sidekiq'
require_relative '../lib/servers'

scotty, jobs = ARGV[0], Integer(ARGV[1])
server = Harness::RedisServer.new
url = server.url
dir = Dir.mktmpdir('scotty-bench')
worker_rb = File.join(dir, 'noop.rb')
File.write(worker_rb, <<~RUBY)
  require 'sidekiq'
  module Scotty; module Diag; class Noop
    include Sidekiq::Worker
    def perform(*) = nil
  end; end; end
RUBY

def peak_rss_mb(pid)
  File.read("/proc/#{pid}/status")[/VmHWM:\s+(\d+)/, 1].to_i / 1024.0
end

def run(name, redis, jobs, cmd, env)
  redis.flushdb
  Sidekiq.configure_client { |c| c.redis = { url: env['REDIS_URL'] } }
  (0...jobs).each_slice(10_000) do |slice|
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Noop', 'args' => slice.map { |i| [i] })
  end
  log = File.join(Dir.tmpdir, "bench-#{name.tr(' ', '_')}.log")
  pid = Process.spawn(env, *cmd, out: log, err: log)
  started = nil
  loop do
    left = redis.llen('queue:default')
    started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC) if left < jobs
    break if left.zero? && redis.keys('queue:scotty|*').all? { |k| redis.llen(k).zero? }
    sleep 0.005
  end
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  rss = peak_rss_mb(pid)
  Process.kill('TERM', pid)
  Process.wait(pid)
  { name: name, rate: jobs / elapsed, secs: elapsed, rss: rss }
end

begin
  redis = server.client
  env = { 'REDIS_URL' => url }
  results = []
  results << run('ruby sidekiq 6.4 -c 10', redis, jobs, ['sidekiq', '-r', worker_rb, '-c', '10', '-q', 'default'], env)
  results << run('scotty -c 10', redis, jobs, [scotty, '-c', '10', '-q', 'default'], env)
  results << run('scotty -c 25', redis, jobs, [scotty, '-c', '25', '-q', 'default'], env)
  ruby = results[0]
  puts format('%-26s %12s %9s %12s %10s %10s', 'worker', 'jobs/s', 'seconds', 'peak RSS MB', 'speed x', 'RSS x')
  results.each do |r|
    puts format('%-26s %12.0f %9.2f %12.1f %10.2f %10.3f', r[:name], r[:rate], r[:secs], r[:rss],
                r[:rate] / ruby[:rate], r[:rss] / ruby[:rss])
  end
ensure
  server.destroy
  FileUtils.rm_rf(dir)
end
