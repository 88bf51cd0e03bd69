# test_poison.rb -- recovery of crashed processes' private lists as the README
# promises it: start-up and every minute, one process at a time under
# scotty:recover_lock; poison pills (a job recovered more than 3 times within 72 h by
# default) go to the dead set, or are dropped when they say "dead": false, with the
# counts in scotty:recovered. A crashed process is its Redis state: a private list
# and a scotty:fetchers entry with no heartbeat hash, as kill -9 and 60 s leave it.
require_relative 'helper'

class PoisonTest < ScottyTest
  DEAD = 'deadhost:4242:0123456789ab'.freeze
  WINDOW = 72 * 3600

  def mark(member, extra = {})
    { 'class' => 'Scotty::Diag::Mark', 'args' => ['ran', member, 0], 'queue' => 'default', 'retry' => true,
      'jid' => format('%024x', rand(1 << 96)), 'created_at' => Time.now.to_f, 'enqueued_at' => Time.now.to_f }
      .merge(extra)
  end

  # Leaves jobs as a crashed process with identity id leaves them.
  def crashed(jobs, id: DEAD)
    @redis.hset('scotty:fetchers', id, 'default')
    jobs.each { |j| @redis.rpush("queue:scotty|#{id}|default", JSON.generate(j)) }
  end

  def recovered?(id = DEAD)
    @redis.llen("queue:scotty|#{id}|default").zero? && !@redis.hexists('scotty:fetchers', id)
  end

  # Default threshold 3: the count in scotty:recovered goes up on each recovery; the
  # fourth recovery (more than 3) sends the job to the dead set. The hash lives 72 h.
  def test_default_threshold_and_recovered_counts
    thrice = mark('thrice')
    fourth = mark('fourth')
    fresh = mark('fresh')
    @redis.hset('scotty:recovered', thrice['jid'], 2)
    @redis.hset('scotty:recovered', fourth['jid'], 3)
    crashed([thrice, fourth, fresh])
    s = start_scotty('-c', '2')
    wait_until(20, "the crashed process's jobs to be recovered\n#{s.log}") { recovered? }
    wait_until(20, 'the recovered jobs to run') { @redis.llen('ran') == 2 }
    assert_equal %w[fresh thrice], @redis.lrange('ran', 0, -1).sort
    dead = Sidekiq::DeadSet.new.to_a
    assert_equal [fourth['jid']], dead.map(&:jid), 'recovered a fourth time: a poison pill'
    assert_equal JSON.generate(fourth), dead[0].value, 'the dead entry is the job unchanged'
    assert_equal '3', @redis.hget('scotty:recovered', thrice['jid'])
    assert_equal '1', @redis.hget('scotty:recovered', fresh['jid'])
    refute @redis.hexists('scotty:recovered', fourth['jid']), 'its count goes with it'
    assert_includes (WINDOW - 60)..WINDOW, @redis.ttl('scotty:recovered'), 'counts are kept 72 hours'
    assert_match(/died holding jobs: 2 requeued, 1 sent to the dead set after more than 3 recoveries/, s.log)
  end

  # Counts older than the window are gone (the hash's TTL ran out: set here to what
  # 72 h without a recovery leaves), so a job with 3 old recoveries runs again.
  def test_counts_expire_after_the_window
    job = mark('old')
    @redis.hset('scotty:recovered', job['jid'], 3)
    @redis.pexpire('scotty:recovered', 1)
    wait_until(5, 'the counts to expire') { !@redis.exists?('scotty:recovered') }
    crashed([job])
    start_scotty('-c', '1')
    wait_until(20, 'the job to run') { @redis.llen('ran') == 1 }
    assert_equal 0, Sidekiq::DeadSet.new.size
    assert_equal '1', @redis.hget('scotty:recovered', job['jid'])
  end

  # "dead": false: a poison pill is dropped, not killed (Pro 8.0's rule).
  def test_poison_pill_saying_dead_false_is_dropped
    job = mark('never', 'dead' => false)
    @redis.hset('scotty:recovered', job['jid'], 3)
    crashed([job])
    s = start_scotty('-c', '1')
    wait_until(20, "the recovery\n#{s.log}") { recovered? }
    assert_equal 0, Sidekiq::DeadSet.new.size, 'not in the dead set'
    assert_equal 0, @redis.llen('queue:default'), 'not requeued'
    assert_equal 0, @redis.llen('ran'), 'not run'
    refute @redis.hexists('scotty:recovered', job['jid'])
    assert_match(/process #{DEAD} died holding jobs: 0 requeued/, s.log)
  end

  # --recover-threshold N: more than N recoveries.
  def test_threshold_flag
    job = mark('one')
    @redis.hset('scotty:recovered', job['jid'], 1)
    crashed([job])
    start_scotty('-c', '1', '--recover-threshold', '1')
    wait_until(20, 'the poison pill in the dead set') { Sidekiq::DeadSet.new.size == 1 }
    assert_equal 0, @redis.llen('ran')
  end

  # Under another process's recovery lock nothing is recovered, at start-up or later;
  # once the lock is gone, the running process's periodic recovery (every minute)
  # takes the crashed process's jobs.
  def test_recovery_waits_for_the_lock_then_runs_periodically
    job = mark('late')
    crashed([job])
    @redis.set('scotty:recover_lock', 'otherhost:1:aaaaaaaaaaaa', ex: 600)
    s = start_scotty('-c', '1')
    wait_for_beats(s, 1)
    refute recovered?, 'nothing recovered while another process holds the lock'
    assert_equal 'otherhost:1:aaaaaaaaaaaa', @redis.get('scotty:recover_lock'), "another's lock is left alone"
    @redis.del('scotty:recover_lock')
    wait_until(120, "the periodic recovery\n#{s.log}") { recovered? }
    wait_until(20, 'the job to run') { @redis.llen('ran') == 1 }
    refute @redis.exists?('scotty:recover_lock'), 'the lock is released after the recovery'
    assert_match(/process #{DEAD} died holding jobs: 1 requeued/, s.log)
  end

  # Two live processes and several crashed ones: each job is recovered exactly once.
  def test_concurrent_recoveries_move_each_job_once
    ids = (1..4).map { |i| "deadhost:#{i}:0123456789ab" }
    jobs = ids.to_h { |id| [id, (1..25).map { |k| mark("#{id}-#{k}") }] }
    jobs.each { |id, js| crashed(js, id: id) }
    2.times { start_scotty('-c', '4') }
    wait_until(60, 'every crashed process recovered') { ids.all? { |id| recovered?(id) } }
    wait_until(60, 'all 100 jobs to run') { @redis.llen('ran') >= 100 }
    ran = @redis.lrange('ran', 0, -1)
    assert_equal 100, ran.size, 'none ran twice'
    assert_equal jobs.values.flatten.map { |j| j['args'][1] }.sort, ran.sort
  end
end
