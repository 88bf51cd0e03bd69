# helper.rb -- integration harness: real redis-server and scotty (and Ruby Sidekiq
# where a test needs it) on free loopback ports in temp dirs, always stopped.
# Every scotty log is checked for sanitizer reports when the test ends.
require 'minitest/autorun'
require 'json'
require 'sidekiq'
require 'sidekiq/api'
require_relative '../lib/servers'

module Harness
  # One scotty process; its stderr goes to a log file the test can read.
  class Scotty
    attr_reader :pid, :log_path, :status

    def initialize(redis_url, *args, env: {})
      dir = Dir.mktmpdir('scotty-run')
      @log_path = File.join(dir, 'scotty.log')
      # Its own runtime directory: the control socket never clashes or lingers.
      full_env = { 'REDIS_URL' => redis_url, 'ASAN_OPTIONS' => 'detect_leaks=1',
                   'RUNTIME_DIRECTORY' => dir }.merge(env)
      @pid = Process.spawn(full_env, SCOTTY, *args, err: @log_path, out: @log_path)
    end

    def log
      File.exist?(@log_path) ? File.read(@log_path).scrub : ''
    end

    def alive?
      return false if @status
      pid, st = Process.waitpid2(@pid, Process::WNOHANG)
      @status = st if pid
      @status.nil?
    end

    def signal(sig)
      Process.kill(sig, @pid)
    end

    # Sends TERM and waits; returns the exit status.
    def stop(timeout: 40)
      return @status if @status
      signal('TERM')
      wait(timeout)
    end

    def wait(timeout = 40)
      Timeout.timeout(timeout) { _, @status = Process.waitpid2(@pid) }
      @status
    end

    def kill9
      signal('KILL')
      wait(10)
    end
  end

  # Like servers.rb's, but a timeout is a test failure rather than an error.
  def self.wait_until(seconds, what, &blk)
    Harness.wait_for(seconds, what, &blk)
  rescue Timeout::Error => e
    raise Minitest::Assertion, e.message
  end
end

# Retry delays in whole seconds after a failure, as ranges, for the new retry_count
# `count` (0 at the first failure): the job class's sidekiq_retry_in value (integer
# seconds, Ruby's to_i) plus Sidekiq's own jitter, which 6.x/7.x draw as
# rand(10) * (count + 1) and 8.x as rand(10 * (count + 1)) (sidekiq-protocol.md 5.2).
module Backoff
  def self.jitter_max(count, major)
    major >= 8 ? 10 * (count + 1) - 1 : 9 * (count + 1)
  end

  # Sidekiq's default: count^4 + 15 + jitter.
  def self.sidekiq_default(count, major)
    base = count**4 + 15
    base..(base + jitter_max(count, major))
  end

  # Mastodon's ExponentialBackoff concern: 15 + 10 * count^4 + rand(10 * count^4).
  def self.exponential(count, major)
    spread = 10 * count**4
    base = 15 + spread
    base..(base + [spread - 1, 0].max + jitter_max(count, major))
  end

  # ActivityPub::DeliveryWorker: count^4 + 15 + rand(0.5 * count^4) (a float, cut by to_i).
  def self.delivery(count, major)
    base = count**4 + 15
    base..(base + [(count**4 + 1) / 2 - 1, 0].max + jitter_max(count, major))
  end

  # The delay a retry-set entry was given: its score less the failure's time
  # (retried_at after the first failure, else failed_at; float s or 8.x's ms).
  def self.delay_of(job, score)
    t = job['retried_at'] || job['failed_at']
    (score - (t.is_a?(Integer) ? t / 1000.0 : t)).round
  end
end

# Base class: one Redis per test, scotty processes tracked and stopped.
class ScottyTest < Minitest::Test
  def setup
    @redis_server = Harness::RedisServer.new
    @redis = @redis_server.client
    @scottys = []
    Sidekiq.configure_client { |c| c.redis = { url: @redis_server.url } }
    Sidekiq.logger.level = Logger::WARN
  end

  def teardown
    @scottys.each do |s|
      s.stop(timeout: 40) if s.alive?
    rescue Timeout::Error
      s.kill9
    end
    @scottys.each do |s|
      refute_match(/AddressSanitizer|LeakSanitizer|runtime error:/, s.log,
                   "sanitizer report in scotty's log:\n#{s.log[-4000..] || s.log}")
    end
    @ruby_sidekiqs&.each do |pid, dir|
      Harness.stop_process(pid)
      FileUtils.rm_rf(dir)
    end
    @redis&.close
    @redis_server&.destroy
  end

  # A Ruby Sidekiq (Debian's 6.4) against the test's Redis, loading worker_rb (Ruby
  # source) with sidekiq's args; stopped at teardown. Returns its log's path.
  def start_ruby_sidekiq(worker_rb, *args)
    dir = Dir.mktmpdir('ruby-sidekiq')
    File.write(File.join(dir, 'worker.rb'), worker_rb)
    log = File.join(dir, 'sidekiq.log')
    pid = Process.spawn({ 'REDIS_URL' => @redis_server.url }, 'sidekiq', '-r', File.join(dir, 'worker.rb'),
                        *args, out: log, err: log)
    (@ruby_sidekiqs ||= []) << [pid, dir]
    log
  end

  # Starts scotty and waits for its heartbeat and, given --control PATH, for that
  # socket too (it is opened after the first heartbeat).
  def start_scotty(*args, env: {})
    s = Harness::Scotty.new(@redis_server.url, *args, env: env)
    @scottys << s
    Harness.wait_until(20, "scotty to register its heartbeat\n#{s.log}") do
      raise Minitest::Assertion, "scotty exited early:\n#{s.log}" unless s.alive?
      @redis.smembers('processes').any? { |id| id.include?(":#{s.pid}:") }
    end
    i = args.index('--control')
    Harness.wait_until(20, "the control socket\n#{s.log}") { File.socket?(args[i + 1]) } if i
    s
  end

  # Waits until scotty s says that it waits for `server` ("Redis", "PostgreSQL") at
  # start-up, in its log and to systemd on notify (a Harness::NotifySocket) as a
  # STATUS= line matching status.
  def wait_for_startup_wait(s, notify, server, status)
    wait_until(15, "scotty to say it waits for #{server}\n#{s.log}") do
      raise Minitest::Assertion, "scotty exited:\n#{s.log}" unless s.alive?
      s.log.include?("waiting for #{server}")
    end
    wait_until(10, "STATUS=waiting for #{server} on the notify socket (got #{notify.messages.inspect})") do
      notify.line(status)
    end
  end

  def wait_until(seconds, what, &blk)
    Harness.wait_until(seconds, what, &blk)
  end

  # The identity (heartbeat hash key) of scotty process s.
  def identity_of(s)
    @redis.smembers('processes').find { |id| id.include?(":#{s.pid}:") }
  end

  # Waits until scotty s reports quiet in its heartbeat (`quiet` "true", what the
  # Web UI's Process#stopping? reads); its fetchers stop when it goes quiet.
  def wait_for_quiet(s)
    wait_until(20, "scotty to report quiet in its heartbeat\n#{s.log}") do
      (id = identity_of(s)) && @redis.hget(id, 'quiet') == 'true'
    end
  end

  # Waits for n more heartbeats of scotty s (each rewrites `beat`, every 5 s): time
  # for the process to act, measured by the process (longer than a 2 s BLMOVE).
  def wait_for_beats(s, n = 2)
    id = identity_of(s)
    seen = [@redis.hget(id, 'beat')]
    wait_until(15 * n, "#{n} more heartbeats of scotty\n#{s.log}") do
      b = @redis.hget(id, 'beat')
      seen << b unless b == seen.last
      seen.size > n
    end
  end

  # Writes dir/sidekiq.yml: concurrency 2 on the default queue and a scheduler
  # (listened queues only) with the given :schedule: entries, YAML text with the
  # entry names at column 0. Returns the file's path.
  def write_schedule_config(dir, schedule)
    path = File.join(dir, 'sidekiq.yml')
    File.write(path, <<~YAML + schedule.gsub(/^(?=.)/, '    '))
      :concurrency: 2
      :queues:
        - default
      :scheduler:
        :listened_queues_only: true
        :schedule:
    YAML
    path
  end

  # The retry set as [job, retry_at] pairs, soonest first.
  def retries
    @redis.zrange('retry', 0, -1, with_scores: true).map { |j, s| [JSON.parse(j), s] }
  end

  def push_marks(key, n, ms: 0, queue: 'default')
    Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Mark', 'queue' => queue,
                              'args' => (1..n).map { |i| [key, "#{queue}-#{i}", ms] })
  end
end
