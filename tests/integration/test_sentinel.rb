# test_sentinel.rb -- Sentinel failover with Debian's redis-server: a master, a
# replica and three sentinels on loopback. scotty, given Mastodon's REDIS_SENTINELS and
# REDIS_SENTINEL_MASTER, drains 10,000 jobs while the master is killed; the sentinels
# promote the replica and scotty carries on. No job is lost; the at-least-once replays
# of jobs in flight at the kill are counted and printed.
require_relative 'helper'

class SentinelTest < ScottyTest
  MASTER = 'mymaster'.freeze
  JOBS = 10_000

  # A sentinel: redis-server in sentinel mode (the redis-sentinel program is the same
  # binary), watching the master with a 1 s down-after.
  class Sentinel
    attr_reader :port

    def initialize(master_port)
      @port = Harness.free_port
      @dir = Dir.mktmpdir('scotty-sentinel')
      conf = File.join(@dir, 'sentinel.conf')
      File.write(conf, <<~CONF)
        port #{@port}
        bind 127.0.0.1
        dir #{@dir}
        sentinel monitor #{MASTER} 127.0.0.1 #{master_port} 2
        sentinel down-after-milliseconds #{MASTER} 1000
        sentinel failover-timeout #{MASTER} 5000
        sentinel parallel-syncs #{MASTER} 1
      CONF
      @pid = Process.spawn('redis-server', conf, '--sentinel', '--logfile', File.join(@dir, 'sentinel.log'))
      Harness.wait_for(10, "sentinel on port #{@port}") { master_port_now }
    end

    # The port this sentinel names for the master, nil if it cannot be asked.
    def master_port_now
      r = Redis.new(host: '127.0.0.1', port: @port)
      addr = r.call('SENTINEL', 'get-master-addr-by-name', MASTER)
      addr && addr[1].to_i
    rescue SystemCallError, Redis::BaseConnectionError
      nil
    ensure
      r&.close
    end

    def destroy
      Harness.stop_process(@pid)
      FileUtils.rm_rf(@dir)
    end
  end

  def setup
    super
    @replica = Harness::RedisServer.new('--replicaof', '127.0.0.1', @redis_server.port.to_s)
    Harness.wait_until(20, 'the replica to sync') { @replica.client.info('replication')['master_link_status'] == 'up' }
    @sentinels = Array.new(3) { Sentinel.new(@redis_server.port) }
  end

  def teardown
    super
    @sentinels&.each(&:destroy)
    @replica&.destroy
  end

  def test_failover_mid_drain_loses_no_job
    push_marks('ran', JOBS)
    env = { 'REDIS_URL' => nil, 'REDIS_SENTINELS' => @sentinels.map { |s| "127.0.0.1:#{s.port}" }.join(','),
            'REDIS_SENTINEL_MASTER' => MASTER }
    s = start_scotty('-c', '10', '--poll-interval', '1', env: env)
    assert_match(/master #{MASTER} \(db 0\) via sentinels 127\.0\.0\.1:/, s.log)
    wait_until(60, "a part of the jobs to run\n#{s.log}") { @redis.llen('ran') >= 2_000 }
    # Replication is asynchronous: a write the master took in its last moments may never
    # reach the replica, and Redis itself then loses it (a job's 'ran' mark, say, while
    # its ack is written again to the new master). Writes are paused until the replica
    # has everything, so any loss the test sees is scotty's own.
    @redis.call('CLIENT', 'PAUSE', '20000', 'WRITE')
    wait_until(15, 'the replica to catch up with the paused master') do
      @redis.info('replication')['master_repl_offset'] == @replica.client.info('replication')['master_repl_offset']
    end
    Process.kill('KILL', @redis_server.instance_variable_get(:@pid))
    @redis_server.instance_variable_set(:@pid, nil)
    wait_until(30, 'the sentinels to promote the replica') do
      @sentinels.all? { |sn| sn.master_port_now == @replica.port }
    end
    @redis = @replica.client
    left = lambda do
      "queue:default #{@redis.llen('queue:default')}, private lists " \
        "#{@redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }}, ran #{@redis.lrange('ran', 0, -1).uniq.size} of #{JOBS}"
    end
    wait_until(180, -> { "every job to have run on the new master (#{left.call})\n#{s.log[-3000..]}" }) do
      raise Minitest::Assertion, "scotty exited: #{s.status.inspect}\n#{s.log[-3000..]}" unless s.alive?

      @redis.lrange('ran', 0, -1).uniq.size == JOBS
    end
    wait_until(60, 'the queue and the private lists to empty') do
      @redis.llen('queue:default').zero? && @redis.keys('queue:scotty|*').sum { |k| @redis.llen(k) }.zero?
    end
    assert s.alive?, s.log
    ran = @redis.llen('ran')
    puts "\nsentinel failover: #{JOBS} jobs, #{ran - JOBS} replayed (at-least-once, in flight at the kill)"
    assert_equal 0, @redis.zcard('dead')
    assert_match(/Redis is back online/, s.log)
  end
end
