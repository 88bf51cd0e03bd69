# test_ingress_orphan_lock.rb -- a scotty killed (kill -9) inside a Create, holding
# lock:create:<uri>: the lock's value names that process, and the scotty that recovers
# its private list releases the lock first, so the recovered job completes at once
# instead of waiting 10 s and failing with Mastodon::RaceConditionError. A lock in the
# dead process's record that someone else holds by now is left alone. A stop that cuts
# a Create off at its deadline releases the lock the same way.
require 'securerandom'
require 'socket'
require_relative 'ingress_helper'

class IngressOrphanLockTest < IngressTest
  OTHER_LOCK = 'lock:create:https://remote.example/users/bob/statuses/2'.freeze

  def teardown
    @stall&.close
    super
  end

  # A Create whose one attachment is downloaded inline from a server that accepts the
  # connection and never answers: the job stays inside the Create, holding its lock.
  def stalled_note
    @stall = TCPServer.new('127.0.0.1', 0)
    url = "http://127.0.0.1:#{@stall.addr[1]}/media/stalled.jpg"
    fixture_with('create_note_mastodon') do |d|
      d['object']['attachment'] = [{ 'type' => 'Document', 'mediaType' => 'image/jpeg', 'url' => url }]
      %w[inReplyTo inReplyToAtomUri].each { |k| d['object'].delete(k) }
    end
  end

  def identity_of(scotty)
    @redis.smembers('processes').find { |id| id.include?(":#{scotty.pid}:") }
  end

  def test_locks_of_a_killed_process_are_released_when_its_jobs_are_recovered
    crash_inside_create_and_recover(@redis, {})
  end

  # Mastodon's split set-up: the locks and their record live in the application Redis.
  def test_in_the_application_redis_too
    env = start_app_redis
    crash_inside_create_and_recover(@app, env)
    assert_empty @redis.keys('lock:*') + @redis.keys('scotty:locks:*')
  end

  # app: the Redis client where the locks live; env: scotty's Redis variables.
  def crash_inside_create_and_recover(app, env)
    lock = "lock:create:#{NOTE_URI}"
    crashed = start_scotty('-c', '1', '-q', 'ingress',
                           env: db_env.merge(env).merge('SCOTTY_HTTP_READ_TIMEOUT' => '300'))
    dead = identity_of(crashed)
    jid = deliver(stalled_note)
    wait_until(20, "the Create to hold its lock with the status written\n#{crashed.log}") do
      app.exists?(lock) && count('statuses', "uri = #{q(NOTE_URI)}") == 1
    end
    token = app.get(lock)
    assert token.end_with?("-scotty:#{dead}"), "the lock names its holder: #{token}"
    assert_equal({ lock => token }, app.hgetall("scotty:locks:#{dead}"))
    assert_operator app.pttl("scotty:locks:#{dead}"), :>, 0, 'the record expires with the lock'
    # A lock the dead process once held that Ruby has taken since stays Ruby's.
    ruby_token = "#{Time.now}-#{SecureRandom.uuid}"
    app.set(OTHER_LOCK, ruby_token, px: 900_000)
    app.hset("scotty:locks:#{dead}", OTHER_LOCK, "#{Time.now}-0123456789abcdef-scotty:#{dead}")
    crashed.kill9
    assert_equal 1, @redis.llen("queue:scotty|#{dead}|ingress"), 'the job is in the dead process\'s private list'
    @redis.del(dead) # its heartbeat expires (60 s) without the wait

    recovering = start_ingress_scotty(env: env)
    done = /jid=#{jid} queue=ingress elapsed=(\d+\.\d+) done$/
    wait_until(8, "the recovered job to complete before the lock's 10 s wait ran out\n#{recovering.log}") do
      recovering.log.include?("jid=#{jid} queue=ingress elapsed=")
    end
    assert_match done, recovering.log, 'the job waited for the lock and failed'
    assert_operator recovering.log[done, 1].to_f, :<, 5
    assert_empty retries, recovering.log
    refute_match(/RaceConditionError/, recovering.log)
    assert_match(/released 1 lock\(s\) held by process #{Regexp.escape(dead)}/, recovering.log)
    # the rerun's own lock goes in the step that writes its outcome, just after the log line
    wait_until(5, "the rerun's lock to be released with its outcome\n#{recovering.log}") { app.get(lock).nil? }
    assert_equal ruby_token, app.get(OTHER_LOCK), 'a lock held by another holder is not released'
    assert_equal 0, app.exists("scotty:locks:#{dead}")
    assert_equal 1, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_empty app.hgetall("scotty:locks:#{identity_of(recovering)}"), 'scotty released its own lock'
  end

  # A stop whose deadline cuts the Create off: the job goes back to its queue and its
  # lock goes with it, so its rerun does not wait for the lock.
  def test_a_stop_past_its_deadline_releases_the_cut_off_jobs_locks
    lock = "lock:create:#{NOTE_URI}"
    s = start_scotty('-c', '1', '-q', 'ingress', '-t', '1',
                     env: db_env.merge('SCOTTY_HTTP_READ_TIMEOUT' => '300'))
    me = identity_of(s)
    deliver(stalled_note)
    wait_until(20, "the Create to hold its lock\n#{s.log}") { @redis.exists?(lock) }
    assert s.stop(timeout: 40).success?, s.log
    assert_match(/released 1 lock\(s\) held by process #{Regexp.escape(me)}/, s.log)
    refute @redis.exists?(lock), 'the lock went with the job'
    assert_equal ['ActivityPub::ProcessingWorker'], Sidekiq::Queue.new('ingress').map(&:klass)
  end
end
