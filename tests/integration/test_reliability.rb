# test_reliability.rb -- nothing is lost: kill -9 mid-burst, Redis restarted
# mid-burst, graceful stop with jobs still running, poison pills.
require_relative 'helper'

class ReliabilityTest < ScottyTest
  def setup
    @redis_server = Harness::RedisServer.new('--appendonly', 'yes', '--appendfsync', 'always')
    @redis = @redis_server.client
    @scottys = []
    Sidekiq.configure_client { |c| c.redis = { url: @redis_server.url } }
  end

  # Simulates the 60 s heartbeat expiry of a killed process.
  def expire_heartbeat(scotty)
    id = @redis.smembers('processes').find { |i| i.include?(":#{scotty.pid}:") }
    refute_nil id
    @redis.del(id)
    id
  end

  def test_kill_9_mid_burst_loses_nothing
    push_marks('ran', 300, ms: 20)
    first = start_scotty('-c', '5')
    wait_until(20, 'part of the burst to run') { @redis.llen('ran') >= 40 }
    id = expire_heartbeat(first)
    first.kill9
    held = @redis.keys("queue:scotty|#{id}|*").sum { |k| @redis.llen(k) }
    assert_operator held, :>, 0, 'the killed process held jobs in its private list'
    refute_equal 300, @redis.llen('ran')

    second = start_scotty('-c', '5')
    wait_until(60, 'every job to have run') { @redis.lrange('ran', 0, -1).uniq.size == 300 }
    assert_match(/died holding jobs: \d+ requeued/, second.log)
    assert_empty @redis.keys("queue:scotty|#{id}|*"), 'private lists of the dead process are gone'
    assert_equal 0, @redis.llen('queue:default')
    refute @redis.hexists('scotty:fetchers', id)
  end

  def test_redis_restart_mid_burst
    jids = push_marks('ran', 400, ms: 10)
    s = start_scotty('-c', '5')
    wait_until(20, 'part of the burst to run') { @redis.llen('ran') >= 50 }
    @redis_server.stop
    sleep 2
    @redis_server.start
    @redis = @redis_server.client
    wait_until(90, "every job to run after the restart\n#{s.log}") do
      @redis.lrange('ran', 0, -1).uniq.size == 400
    end
    # Outcomes wait in memory and are written once Redis is back; a job whose ack was
    # pending stayed in the private list (AOF), so a finished job never runs again.
    # Only a job that itself failed runs twice: its RPUSH reached Redis but the reply
    # was lost, so it failed into a retry, as a Ruby job would.
    twice = @redis.lrange('ran', 0, -1).tally.select { |_, n| n > 1 }
    failed = jids.each_with_index.select { |jid, _| s.log.match?(/jid=#{jid} .* fail: /) }
                 .map { |_, i| "default-#{i + 1}" }
    assert_equal [], twice.keys - failed, "jobs that ran twice without failing (failed: #{failed})"
    assert(twice.values.all? { |n| n == 2 }, "no job ran more than twice: #{twice}")
    id = identity_of(s)
    wait_until(20, 'the private lists to drain') do
      @redis.keys("queue:scotty|#{id}|*").sum { |k| @redis.llen(k) }.zero?
    end
    assert_equal 0, @redis.llen('queue:default'), 'no leftovers in the queue'
    assert s.alive?, 'scotty survived the Redis restart'
    assert_equal 1, s.log.scan(/Redis is unreachable/).size, 'one line when Redis went down'
    assert_match(/Redis is back online after/, s.log)
  end

  # A live process recovers a killed one's private lists once its heartbeat has
  # expired: not at start-up (it was already running) but in its periodic recovery.
  # The heartbeat's TTL is shortened, not deleted: Redis expires it as it would after
  # 60 s. Every job is back in its queue exactly once.
  def test_live_process_recovers_a_killed_one_after_the_ttl
    live = start_scotty('-c', '1', '-q', 'elsewhere')
    jids = Sidekiq::Client.push_bulk('class' => 'Scotty::Diag::Mark', 'queue' => 'work',
                                     'args' => (1..20).map { |i| ['never', i.to_s, 600_000] })
    victim = start_scotty('-c', '2', '-q', 'work')
    id = identity_of(victim)
    wait_until(20, 'the victim to hold jobs') { @redis.llen("queue:scotty|#{id}|work") >= 2 }
    wait_until(10, 'both its threads busy') { File.read("/proc/#{victim.pid}/cmdline").include?('[2 of 2 busy]') }
    victim.kill9
    held = @redis.llen("queue:scotty|#{id}|work")
    assert_operator held, :>=, 2
    assert @redis.hexists('scotty:fetchers', id)
    @redis.pexpire(id, 100)
    wait_until(120, "the live process's periodic recovery\n#{live.log}") do
      @redis.llen("queue:scotty|#{id}|work").zero? && !@redis.hexists('scotty:fetchers', id)
    end
    assert_match(/process #{Regexp.escape(id)} died holding jobs: #{held} requeued/, live.log)
    queued = @redis.lrange('queue:work', 0, -1).map { |j| JSON.parse(j)['jid'] }
    assert_equal jids.sort, queued.sort, 'every job back in its queue, once'
    assert_empty @redis.keys("queue:scotty|#{id}|*")
    assert_equal 0, @redis.llen('never'), 'none of them ran'
    assert live.alive?
  end

  def test_graceful_stop_requeues_unfinished_jobs
    s = start_scotty('-c', '2', '-t', '1')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [60_000])
    wait_until(10, 'the long job to start') { File.read("/proc/#{s.pid}/cmdline").include?('[1 of 2 busy]') }
    status = s.stop(timeout: 20)
    assert status.success?, s.log
    assert_match(/requeueing 1 unfinished jobs/, s.log)
    assert_equal 1, Sidekiq::Queue.new('default').size, 'the unfinished job is back in its queue'
    assert_equal 'Scotty::Diag::Sleep', Sidekiq::Queue.new('default').first.klass
    assert_empty @redis.keys('queue:scotty|*')
    assert_equal 0, Sidekiq::ProcessSet.new.size
  end

  # A handler stuck past the deadline (in a library call, say) must not keep the
  # process alive: its job is requeued and scotty exits without freeing what the
  # handler may still be using.
  def test_stuck_handler_does_not_hold_the_process
    s = start_scotty('-c', '2', '-t', '1')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Hang', 'args' => [600_000])
    wait_until(10, 'the stuck job to start') { File.read("/proc/#{s.pid}/cmdline").include?('[1 of 2 busy]') }
    status = s.stop(timeout: 30)
    assert status.success?, s.log
    assert_match(/1 job\(s\) ignored the shutdown/, s.log)
    assert_match(/exiting with 1 handler\(s\) still running/, s.log)
    assert_equal ['Scotty::Diag::Hang'], Sidekiq::Queue.new('default').map(&:klass), 'the job is back in its queue'
    assert_empty @redis.keys('queue:scotty|*')
  end

  # TERM while a job runs, then Redis goes away: the stop ends at -t plus a short
  # grace, says which outcome it could not write, and the job, still in the private
  # list, runs again in the next process.
  def test_stop_ends_when_redis_is_gone
    s = start_scotty('-c', '1', '-t', '2')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [1500])
    wait_until(10, 'the job to start') { File.read("/proc/#{s.pid}/cmdline").include?('[1 of 1 busy]') }
    id = @redis.smembers('processes').find { |i| i.include?(":#{s.pid}:") }
    s.signal('TERM')
    @redis_server.stop
    status = s.wait(60)
    assert status.success?, s.log
    assert_match(/stopping without Redis .*1 job outcome\(s\) not written/, s.log)
    assert_match(/not written: done of class=Scotty::Diag::Sleep/, s.log)

    @redis_server.start
    @redis = @redis_server.client
    assert_equal 1, @redis.llen("queue:scotty|#{id}|default"), 'the job is still in the private list'
    @redis.del(id)
    start_scotty('-c', '1')
    wait_until(60, 'the job to run in the next process') do
      @redis.llen("queue:scotty|#{id}|default").zero? && @redis.llen('queue:default').zero? &&
        Sidekiq::Stats.new.processed >= 1
    end
  end

  def test_poison_pill_goes_dead_after_threshold
    jid = Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [60_000])
    3.times do |i|
      s = start_scotty('-c', '1', '--recover-threshold', '2')
      # In this process's own list: the previous one's still holds the job until this
      # one's start-up recovery (under the recovery lock) has moved it.
      wait_until(10, "attempt #{i + 1} to start the job") do
        File.read("/proc/#{s.pid}/cmdline").include?('[1 of 1 busy]')
      end
      expire_heartbeat(s)
      s.kill9
    end
    s = start_scotty('-c', '1', '--recover-threshold', '2')
    wait_until(10, 'the poison pill to reach the dead set') { Sidekiq::DeadSet.new.size == 1 }
    assert_equal jid, Sidekiq::DeadSet.new.first.jid
    assert_match(/1 sent to the dead set after more than 2 recoveries/, s.log)
  end
end
