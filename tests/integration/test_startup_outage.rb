# test_startup_outage.rb -- scotty started while Redis is down waits instead of
# exiting: one log line, STATUS=waiting for Redis on the notify socket, start-up
# once Redis is back (and a job runs); TERM while waiting exits cleanly; a Redis
# that refuses the settings is a configuration error and ends it at once.
require_relative 'helper'
require_relative '../lib/sdnotify'

class StartupOutageTest < ScottyTest
  def setup
    super
    @notify = Harness::NotifySocket.new
  end

  def teardown
    super
    @notify&.close
  end

  def start_waiting_scotty(url = @redis_server.url)
    s = Harness::Scotty.new(url, '-c', '1', env: { 'NOTIFY_SOCKET' => @notify.path })
    @scottys << s
    s
  end

  def test_waits_for_redis_then_starts_and_runs_a_job
    @redis_server.stop
    s = start_waiting_scotty
    wait_for_startup_wait(s, @notify, 'Redis', /\ASTATUS=waiting for Redis: cannot connect/)
    sleep 2 # a few retries
    assert s.alive?, "scotty exited while Redis was down:\n#{s.log}"
    assert_equal 1, s.log.scan('waiting for Redis').size, "one line when the wait starts:\n#{s.log}"
    assert_nil @notify.line(/\AREADY=1/)

    @redis_server.start
    wait_until(30, "scotty to start once Redis is back\n#{s.log}") do
      raise Minitest::Assertion, "scotty exited:\n#{s.log}" unless s.alive?
      @redis.smembers('processes').any? { |id| id.include?(":#{s.pid}:") }
    end
    assert_match(/Redis at \S+ is up after [\d.]+ s; starting/, s.log)
    push_marks('ran', 1)
    wait_until(15, "the job to run\n#{s.log}") { @redis.lrange('ran', 0, -1) == ['default-1'] }
    assert @notify.line(/\AREADY=1/), "no READY=1 after the wait: #{@notify.messages.inspect}"
    assert_predicate s.stop, :success?
  end

  def test_term_while_waiting_exits_cleanly
    @redis_server.stop
    s = start_waiting_scotty
    wait_for_startup_wait(s, @notify, 'Redis', /\ASTATUS=waiting for Redis: cannot connect/)
    st = s.stop(timeout: 10)
    assert_predicate st, :success?, "exit status #{st.inspect}:\n#{s.log}"
    assert_match(/received TERM while waiting for Redis; exiting/, s.log)
  end

  def test_refused_settings_exit_at_once
    s = start_waiting_scotty(@redis_server.url.sub(%r{/0\z}, '/99'))
    st = s.wait(15)
    refute_predicate st, :success?
    assert_match(/cannot start: .*Redis refused database 99/, s.log)
    refute_match(/waiting for Redis/, s.log)
  end
end
