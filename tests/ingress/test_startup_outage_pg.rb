# test_startup_outage_pg.rb -- scotty started while PostgreSQL is down waits instead
# of exiting: one log line, STATUS=waiting for PostgreSQL on the notify socket, and
# once the server is back it starts and stores a Create; TERM while waiting exits
# cleanly; a server refusing the settings (no such database) ends it at once.
require_relative 'ingress_helper'
require_relative '../lib/sdnotify'

class StartupOutagePgTest < IngressTest
  def setup
    super
    add_alice_status
    @notify = Harness::NotifySocket.new
  end

  def teardown
    super
    server('resume') if @pg_halted
    @notify&.close
  end

  def halt_pg
    server('halt')
    @pg_halted = true
  end

  def resume_pg
    server('resume')
    @pg_halted = false
  end

  def start_waiting_scotty(env = {})
    s = Harness::Scotty.new(@redis_server.url, '-c', '2', '-q', 'ingress', '--media-defer', 'pull',
                            env: db_env.merge('NOTIFY_SOCKET' => @notify.path).merge(env))
    @scottys << s
    s
  end

  def test_waits_for_postgresql_then_starts_and_stores_a_create
    halt_pg
    s = start_waiting_scotty
    wait_for_startup_wait(s, @notify, 'PostgreSQL', /\ASTATUS=waiting for PostgreSQL: .*refused/i)
    sleep 2 # a few retries
    assert s.alive?, "scotty exited while PostgreSQL was down:\n#{s.log}"
    assert_equal 1, s.log.scan('waiting for PostgreSQL').size, "one line when the wait starts:\n#{s.log}"
    assert_empty @redis.smembers('processes'), 'scotty registered before its database was up'

    resume_pg
    wait_until(30, "scotty to start once PostgreSQL is back\n#{s.log}") do
      raise Minitest::Assertion, "scotty exited:\n#{s.log}" unless s.alive?
      @redis.smembers('processes').any? { |id| id.include?(":#{s.pid}:") }
    end
    assert_match(/PostgreSQL at \S+ is up after [\d.]+ s; starting/, s.log)
    deliver_and_wait(fixture('create_note_mastodon'))
    refute_nil status_row, "no status written after the wait; log:\n#{s.log}"
    assert @notify.line(/\AREADY=1/), "no READY=1 after the wait: #{@notify.messages.inspect}"
    assert_predicate s.stop, :success?
  end

  def test_term_while_waiting_exits_cleanly
    halt_pg
    s = start_waiting_scotty
    wait_for_startup_wait(s, @notify, 'PostgreSQL', /\ASTATUS=waiting for PostgreSQL: .*refused/i)
    st = s.stop(timeout: 10)
    assert_predicate st, :success?, "exit status #{st.inspect}:\n#{s.log}"
    assert_match(/received TERM while waiting for PostgreSQL; exiting/, s.log)
  end

  def test_refused_settings_exit_at_once
    s = start_waiting_scotty('DB_NAME' => 'no_such_database')
    st = s.wait(15)
    refute_predicate st, :success?
    assert_match(/cannot start: PostgreSQL at \S+ refused the connection: .*no_such_database/, s.log)
    refute_match(/waiting for PostgreSQL/, s.log)
  end
end
