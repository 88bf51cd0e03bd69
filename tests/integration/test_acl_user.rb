# test_acl_user.rb -- scotty on a managed Redis's terms: an ACL user allowed
# '+@all -@admin -@dangerous +info' (no KEYS, CONFIG, CLIENT KILL, DEBUG or FLUSHALL),
# given as REDIS_HOST/REDIS_PORT/REDIS_USER/REDIS_PASSWORD, runs the engine: Ruby's
# jobs run, retry and die, the scheduled set and the retry set are polled, the
# heartbeat is in Sidekiq::ProcessSet, a killed process's jobs are recovered, and
# Redis's ACL log records no command refused to that user. The test itself works as
# the default user.
require_relative 'helper'

class AclUserTest < ScottyTest
  USER = 'scotty'
  PASSWORD = 'managed-s3cret'

  def setup
    super
    @redis_server.acl_user(USER, PASSWORD, '+@all', '-@admin', '-@dangerous', '+info')
    @redis.call('ACL', 'LOG', 'RESET')
  end

  def acl_env
    { 'REDIS_URL' => nil, 'REDIS_HOST' => '127.0.0.1', 'REDIS_PORT' => @redis_server.port.to_s,
      'REDIS_USER' => USER, 'REDIS_PASSWORD' => PASSWORD }
  end

  def refused_to_scotty
    @redis.call('ACL', 'LOG').map { |e| e.each_slice(2).to_h }.select { |e| e['username'] == USER }
  end

  def test_the_user_is_restricted
    r = Redis.new(host: '127.0.0.1', port: @redis_server.port, username: USER, password: PASSWORD)
    assert_match(/redis_version/, r.info('server').to_s)
    [%w[KEYS *], %w[CONFIG GET maxmemory], %w[FLUSHALL], %w[DEBUG SLEEP 0], %w[CLIENT KILL ID 1]].each do |cmd|
      e = assert_raises(Redis::CommandError) { r.call(*cmd) }
      # (DEBUG may be refused before the ACL is asked: enable-debug-command.)
      assert_match(/NOPERM|DEBUG command not allowed/, e.message, cmd.join(' '))
    end
  ensure
    r&.close
  end

  def test_engine_runs_as_the_acl_user
    s = start_scotty('-c', '4', '--poll-interval', '1', env: acl_env)
    where = "redis://127.0.0.1:#{@redis_server.port}/0 as #{USER}"
    assert_includes s.log, "Sidekiq's Redis is #{where} (from REDIS_HOST, REDIS_PORT, REDIS_USER, REDIS_PASSWORD)"
    refute_includes s.log, PASSWORD

    push_marks('ran', 50)
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['ran', 'scheduled', 0],
                         'at' => Time.now.to_f + 1.5)
    jid = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['kaboom'], 'retry' => 1)
    wait_until(30, "the immediate and scheduled jobs to run\n#{s.log}") { @redis.llen('ran') == 51 }
    assert_equal 'scheduled', @redis.lindex('ran', -1), 'the poller moved the scheduled job'

    wait_until(15, 'the failure to reach the retry set') { Sidekiq::RetrySet.new.size == 1 }
    Sidekiq::RetrySet.new.first.reschedule(Time.now.to_f + 1)
    wait_until(20, "the retried job to die\n#{s.log}") { Sidekiq::DeadSet.new.size == 1 }
    assert_equal jid, Sidekiq::DeadSet.new.first.jid
    assert_equal 0, Sidekiq::RetrySet.new.size

    procs = nil
    wait_until(15, 'the heartbeat in Sidekiq::ProcessSet') do
      procs = Sidekiq::ProcessSet.new.to_a
      procs.size == 1
    end
    assert_includes procs[0]['identity'], ":#{s.pid}:"
    assert_equal 4, procs[0]['concurrency']
    wait_until(15, 'the stats to be flushed') do
      st = Sidekiq::Stats.new
      st.processed >= 53 && st.failed == 2
    end

    # A killed process's private list, recovered by the next one.
    Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [60_000])
    wait_until(10, 'the long job to start') { File.read("/proc/#{s.pid}/cmdline").include?('[1 of 4 busy]') }
    id = @redis.smembers('processes').find { |i| i.include?(":#{s.pid}:") }
    @redis.del(id)
    s.kill9
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['ran', 'after', 0])
    t = start_scotty('-c', '2', '--poll-interval', '1', '-t', '1', env: acl_env)
    wait_until(30, "the dead process's job to be requeued\n#{t.log}") do
      t.log.match?(/died holding jobs: 1 requeued/)
    end
    wait_until(15, 'the job pushed meanwhile to run') { @redis.lindex('ran', -1) == 'after' }
    assert t.stop.success?, t.log

    assert_empty refused_to_scotty, "Redis refused commands to #{USER}"
  end
end
