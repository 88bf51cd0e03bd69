# test_dead_insert.rb -- the dead set is trimmed on every insert, by age and then by
# size, as Sidekiq's DeadSet#kill does (sidekiq-protocol.md 5.3: ZADD, then
# ZREMRANGEBYSCORE -inf now-timeout, ZREMRANGEBYRANK 0 -max, which keeps max-1): on
# each path by which scotty kills a job: retries exhausted, a refused payload, a
# scheduled member naming a queue with a NUL, and a poison pill from recovery.
require_relative 'helper'
require 'tmpdir'

class DeadInsertTest < ScottyTest
  MAX = 5
  TIMEOUT = 3600

  def setup
    super
    @dir = Dir.mktmpdir('scotty-dead')
    @config = File.join(@dir, 'sidekiq.yml')
    File.write(@config, ":concurrency: 2\n:queues:\n  - default\n:dead_max_jobs: #{MAX}\n" \
                        ":dead_timeout_in_seconds: #{TIMEOUT}\n")
  end

  def teardown
    super
    FileUtils.rm_rf(@dir)
  end

  # Two entries older than the timeout and six recent ones (more than MAX - 1).
  def seed
    @redis.del('dead')
    now = Time.now.to_f
    2.times { |i| @redis.zadd('dead', now - TIMEOUT - 100 - i, JSON.generate('jid' => "old#{i}", 'class' => 'X')) }
    6.times { |i| @redis.zadd('dead', now - 600 + i, JSON.generate('jid' => "recent#{i}", 'class' => 'X')) }
  end

  # After one insert: the old ones gone, then the newest MAX - 1 kept, the new one among them.
  def assert_trimmed(what, newest)
    wait_until(20, "#{what} in the dead set") { @redis.zrange('dead', 0, -1).any? { |m| m.include?(newest) } }
    members = @redis.zrange('dead', 0, -1)
    assert_equal MAX - 1, members.size, "#{what}: trimmed to #{MAX - 1}: #{members}"
    refute(members.any? { |m| m.include?('"old') }, "#{what}: entries older than the timeout removed")
    assert_equal %w[recent3 recent4 recent5], members.first(3).map { |m| JSON.parse(m)['jid'] },
                 "#{what}: the oldest recent ones removed by rank"
  end

  def test_every_insert_trims
    s = start_scotty('-C', @config, '--poll-interval', '1')
    seed
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ['dies'], 'retry' => 0,
                         'jid' => 'a' * 24)
    assert_trimmed('an exhausted retry', 'a' * 24)

    seed
    @redis.lpush('queue:default', '["not", "an object", "bbbbbbbbbbbbbbbbbbbbbbbb"]')
    assert_trimmed('a refused payload', 'bbbbbbbbbbbbbbbbbbbbbbbb')

    seed
    @redis.zadd('schedule', Time.now.to_f - 1,
                '{"class":"Scotty::Diag::Noop","args":[],"queue":"a\u0000b","jid":"cccccccccccccccccccccccc"}')
    assert_trimmed('a scheduled job naming a queue with a NUL', 'cccccccccccccccccccccccc')
    s.stop

    seed
    dead_id = 'deadhost:1:0123456789ab'
    job = { 'class' => 'Scotty::Diag::Noop', 'args' => [], 'queue' => 'default', 'jid' => 'd' * 24 }
    @redis.hset('scotty:recovered', job['jid'], 3)
    @redis.hset('scotty:fetchers', dead_id, 'default')
    @redis.rpush("queue:scotty|#{dead_id}|default", JSON.generate(job))
    start_scotty('-C', @config)
    assert_trimmed('a poison pill', 'd' * 24)
  end
end
